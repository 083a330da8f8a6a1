using Dapper;
using Helix.Data.IntegrationTests.Support;
using Npgsql;

namespace Helix.Data.IntegrationTests;

/// <summary>Dapper call sites, unchanged, on two real PostgreSQL servers.</summary>
[TestFixture(SyncOrAsync.Sync)]
[TestFixture(SyncOrAsync.Async)]
public class PostgresDapperTests(SyncOrAsync mode) : PostgresTestBase
{
    private HelixConnection _connection = null!;

    private bool IsAsync => mode == SyncOrAsync.Async;

    public sealed record Order(Guid Id, string Customer, decimal Total, string[] Tags);

    [OneTimeSetUp]
    public void UseNativeArrays() => HelixDapper.UseNativeArrays();

    [SetUp]
    public async Task CreateSchemaAsync()
    {
        await ExecuteOnBothAsync("CREATE TABLE orders (id uuid PRIMARY KEY, customer text NOT NULL, total numeric(10, 2) NOT NULL, tags text[] NOT NULL DEFAULT '{}')");
        _connection = new HelixConnection(HelixConnectionString());
    }

    [TearDown]
    public async Task CloseAsync() => await _connection.DisposeAsync();

    private Task<int> Execute(string sql, object? param = null) =>
        IsAsync ? _connection.ExecuteAsync(sql, param) : Task.FromResult(_connection.Execute(sql, param));

    private async Task<List<T>> Query<T>(string sql, object? param = null) =>
        IsAsync ? (await _connection.QueryAsync<T>(sql, param)).ToList() : _connection.Query<T>(sql, param).ToList();

    private async Task<Order[]> SeedAsync()
    {
        var orders = new[]
        {
            new Order(Guid.CreateVersion7(), "ada", 10.50m, ["new"]),
            new Order(Guid.CreateVersion7(), "bob", 99.99m, ["vip", "gift"]),
            new Order(Guid.CreateVersion7(), "cy", 5m, []),
        };
        Assert.That(await Execute("INSERT INTO orders (id, customer, total, tags) VALUES (@Id, @Customer, @Total, @Tags)", orders), Is.EqualTo(3));
        return orders;
    }

    [Test]
    public async Task Execute_Query_QuerySingle_and_ExecuteScalar()
    {
        var orders = await SeedAsync();
        var all = await Query<Order>("SELECT id, customer, total, tags FROM orders ORDER BY customer");
        var bob = IsAsync
            ? await _connection.QuerySingleAsync<Order>("SELECT id, customer, total, tags FROM orders WHERE id = @id", new { id = orders[1].Id })
            : _connection.QuerySingle<Order>("SELECT id, customer, total, tags FROM orders WHERE id = @id", new { id = orders[1].Id });
        var sum = IsAsync ? await _connection.ExecuteScalarAsync<decimal>("SELECT sum(total) FROM orders") : _connection.ExecuteScalar<decimal>("SELECT sum(total) FROM orders");
        var updated = await Execute("UPDATE orders SET total = total * 2 WHERE customer = @customer", new { customer = "cy" });
        Assert.Multiple(async () =>
        {
            Assert.That(all.Select(o => o.Customer), Is.EqualTo(new[] { "ada", "bob", "cy" }));
            Assert.That(bob.Tags, Is.EqualTo(new[] { "vip", "gift" }));
            Assert.That(sum, Is.EqualTo(115.49m));
            Assert.That(updated, Is.EqualTo(1));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT * FROM orders ORDER BY id"), Is.EqualTo(await RowsAsync(HelixStrand.Primary, "SELECT * FROM orders ORDER BY id")));
        });
    }

    [Test]
    public async Task Returning_and_QueryMultiple()
    {
        var id = Guid.CreateVersion7();
        const string Insert = "INSERT INTO orders (id, customer, total) VALUES (@id, 'dee', 1) RETURNING id";
        var returned = IsAsync ? await _connection.ExecuteScalarAsync<Guid>(Insert, new { id }) : _connection.ExecuteScalar<Guid>(Insert, new { id });
        const string Both = "SELECT count(*) FROM orders; SELECT customer FROM orders";
        long count;
        string customer;
        if (IsAsync)
        {
            await using var grid = await _connection.QueryMultipleAsync(Both);
            count = await grid.ReadSingleAsync<long>();
            customer = await grid.ReadSingleAsync<string>();
        }
        else
        {
            using var grid = _connection.QueryMultiple(Both);
            count = grid.ReadSingle<long>();
            customer = grid.ReadSingle<string>();
        }

        Assert.Multiple(async () =>
        {
            Assert.That(returned, Is.EqualTo(id));
            Assert.That(count, Is.EqualTo(1));
            Assert.That(customer, Is.EqualTo("dee"));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT customer FROM orders"), Is.EqualTo(new[] { "dee" }));
        });
    }

    [Test]
    public async Task A_unique_violation_on_both_strands_reaches_Dapper_as_PostgresException_23505()
    {
        var orders = await SeedAsync();
        string? caught = null;
        try
        {
            await Execute("INSERT INTO orders (id, customer, total) VALUES (@Id, 'again', 1)", new { orders[0].Id });
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            caught = e.ConstraintName;
        }

        Assert.That(caught, Is.EqualTo("orders_pkey"), "the provider's own exception, catchable as before");
    }

    [Test]
    public async Task Arrays_bind_natively_any_and_text_array_columns()
    {
        var orders = await SeedAsync();
        var ids = new[] { orders[0].Id, orders[2].Id };
        var picked = await Query<string>("SELECT customer FROM orders WHERE id = ANY(@ids) ORDER BY customer", new { ids });
        var tagged = await Execute("UPDATE orders SET tags = @tags WHERE id = @id", new { id = orders[2].Id, tags = new[] { "late", "re;try" } });
        var withTag = await Query<string>("SELECT customer FROM orders WHERE tags && @wanted ORDER BY customer", new { wanted = new[] { "late", "vip" } });
        Assert.Multiple(async () =>
        {
            Assert.That(picked, Is.EqualTo(new[] { "ada", "cy" }));
            Assert.That(tagged, Is.EqualTo(1));
            Assert.That(withTag, Is.EqualTo(new[] { "bob", "cy" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT tags FROM orders WHERE customer = 'cy'"), Is.EqualTo(new[] { "{late,re;try}" }));
        });
    }

    [Test]
    public async Task A_list_is_still_expanded_by_Dapper_so_IN_works_and_ANY_needs_an_array()
    {
        var orders = await SeedAsync();
        var list = new List<Guid> { orders[0].Id, orders[1].Id };
        var viaIn = await Query<string>("SELECT customer FROM orders WHERE id IN @list ORDER BY customer", new { list });
        Assert.That(viaIn, Is.EqualTo(new[] { "ada", "bob" }));
        var thrown = Assert.ThrowsAsync<PostgresException>(() => Query<string>("SELECT customer FROM orders WHERE id = ANY(@list)", new { list }));
        Assert.That(thrown!.SqlState, Is.EqualTo("42809"), "op ANY/ALL (array) requires array on right side: pass an array, not a List");
    }
}
