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

    // Issue 19, item 9: a List<T> was expanded into scalar parameters, so ANY(@ids) failed even with UseNativeArrays.
    [Test]
    public async Task Lists_and_other_collections_bind_natively_as_Dapper_binds_them_on_Npgsql()
    {
        var orders = await SeedAsync();
        var list = new List<Guid> { orders[0].Id, orders[1].Id };
        IEnumerable<Guid> sequence = [orders[1].Id, orders[2].Id];
        var set = new HashSet<Guid> { orders[2].Id };
        var totals = new List<decimal> { 5m, 99.99m };
        var parameters = new DynamicParameters();
        parameters.Add("ids", new List<Guid> { orders[0].Id });
        var viaList = await Query<string>("SELECT customer FROM orders WHERE id = ANY(@list) ORDER BY customer", new { list });
        var viaSequence = await Query<string>("SELECT customer FROM orders WHERE id = ANY(@sequence) ORDER BY customer", new { sequence });
        var viaSet = await Query<string>("SELECT customer FROM orders WHERE id = ANY(@set)", new { set });
        var viaDecimals = await Query<string>("SELECT customer FROM orders WHERE total = ANY(@totals) ORDER BY customer", new { totals });
        var viaDynamic = await Query<string>("SELECT customer FROM orders WHERE id = ANY(@ids)", parameters);
        var tagged = await Execute("UPDATE orders SET tags = @tags WHERE id = @id", new { id = orders[0].Id, tags = new List<string> { "a", "b" } });
        var plain = await PlainNpgsqlAsync(list);
        Assert.Multiple(async () =>
        {
            Assert.That(viaList, Is.EqualTo(new[] { "ada", "bob" }));
            Assert.That(viaSequence, Is.EqualTo(new[] { "bob", "cy" }));
            Assert.That(viaSet, Is.EqualTo(new[] { "cy" }));
            Assert.That(viaDecimals, Is.EqualTo(new[] { "bob", "cy" }));
            Assert.That(viaDynamic, Is.EqualTo(new[] { "ada" }));
            Assert.That(tagged, Is.EqualTo(1));
            Assert.That(await RowsAsync(HelixStrand.Secondary, $"SELECT tags FROM orders WHERE id = '{orders[0].Id}'"), Is.EqualTo(new[] { "{a,b}" }));
            Assert.That(viaList, Is.EqualTo(plain), "what Dapper gives on a plain NpgsqlConnection");
        });
    }

    [Test]
    public async Task IN_with_a_list_fails_as_it_does_with_Dapper_on_a_plain_NpgsqlConnection()
    {
        var orders = await SeedAsync();
        var list = new List<Guid> { orders[0].Id, orders[1].Id };
        await using var plain = new NpgsqlConnection(PostgresServers.Primary.ConnectionString(Database));
        var plainError = Assert.CatchAsync(() => plain.QueryAsync<string>("SELECT customer FROM orders WHERE id IN @list", new { list }));
        var helixError = Assert.CatchAsync(() => Query<string>("SELECT customer FROM orders WHERE id IN @list", new { list }));
        Assert.That(helixError!.GetType(), Is.EqualTo(plainError!.GetType()), $"plain: {plainError.Message}; Helix: {helixError.Message}");
    }

    [Test]
    public async Task SELECT_nextval_advances_the_sequence_on_both_strands_and_by_replay_on_one_that_was_behind()
    {
        await ExecuteOnBothAsync("CREATE SEQUENCE order_numbers");
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using var connection = await dataSource.OpenConnectionAsync();
        async Task<long> NextAsync() => IsAsync
            ? await connection.ExecuteScalarAsync<long>("SELECT nextval('order_numbers')")
            : connection.ExecuteScalar<long>("SELECT nextval('order_numbers')");
        const string Last = "SELECT last_value FROM order_numbers";
        async Task<List<string>> BothAsync() => [.. await RowsAsync(HelixStrand.Primary, Last), .. await RowsAsync(HelixStrand.Secondary, Last)];

        var taken = new List<long> { await NextAsync(), await NextAsync() };
        var inStep = await BothAsync();
        dataSource.Defer(HelixStrand.Secondary, "test: the secondary gets its writes by replay");
        taken.Add(await NextAsync()); // the primary's, queued for the secondary (its replay may run at once)
        dataSource.Undefer(HelixStrand.Secondary);
        await WaitForReplayAsync(dataSource);
        taken.Add(await NextAsync());

        Assert.Multiple(async () =>
        {
            Assert.That(taken, Is.EqualTo(new long[] { 1, 2, 3, 4 }));
            Assert.That(inStep, Is.EqualTo(new[] { "2", "2" }), "both strands' sequences moved; before, nextval was a read and only the strand reads go to moved");
            Assert.That(await BothAsync(), Is.EqualTo(new[] { "4", "4" }), "the secondary got the nextval queued for it");
        });
    }

    private async Task<List<string>> PlainNpgsqlAsync(List<Guid> list)
    {
        await using var plain = new NpgsqlConnection(PostgresServers.Primary.ConnectionString(Database));
        return [.. await plain.QueryAsync<string>("SELECT customer FROM orders WHERE id = ANY(@list) ORDER BY customer", new { list })];
    }
}
