using System.Data.Common;
using Dapper;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>Dapper call sites, unchanged, through <c>new HelixConnection(...)</c> and through <see cref="DbProviderFactories"/>.</summary>
[TestFixture(SyncOrAsync.Sync, "new")]
[TestFixture(SyncOrAsync.Async, "new")]
[TestFixture(SyncOrAsync.Sync, "factories")]
[TestFixture(SyncOrAsync.Async, "factories")]
public class DapperTests(SyncOrAsync mode, string how)
{
    private SqliteStrands _files = null!;
    private DbConnection _connection = null!;

    private bool IsAsync => mode == SyncOrAsync.Async;

    public sealed record User(string Id, string Name, long Age);

    [SetUp]
    public void SetUp()
    {
        _files = new SqliteStrands("dapper");
        _files.ExecuteOnBoth("CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL, age INTEGER NOT NULL)");
        var connectionString = _files.ConnectionString("Preferred Strand=Secondary");
        if (how == "factories")
        {
            DbProviderFactories.RegisterFactory(HelixProviderFactory.InvariantName, HelixProviderFactory.Instance);
            _connection = DbProviderFactories.GetFactory("Helix.Data").CreateConnection()!;
            _connection.ConnectionString = connectionString;
        }
        else
        {
            _connection = new HelixConnection(connectionString);
        }
    }

    [TearDown]
    public void TearDown()
    {
        var dataSource = ((HelixConnection)_connection).HelixDataSource;
        _connection.Dispose();
        dataSource?.Dispose();
        _files.Dispose();
    }

    private Task<int> Execute(string sql, object? param = null) =>
        IsAsync ? _connection.ExecuteAsync(sql, param) : Task.FromResult(_connection.Execute(sql, param));

    private async Task<List<T>> Query<T>(string sql, object? param = null) =>
        IsAsync ? (await _connection.QueryAsync<T>(sql, param)).ToList() : _connection.Query<T>(sql, param).ToList();

    [Test]
    public async Task Execute_writes_both_strands_and_reports_rows()
    {
        var rows = await Execute("INSERT INTO users (id, name, age) VALUES (@Id, @Name, @Age)", new[]
        {
            new User(Guid.CreateVersion7().ToString(), "Alice", 31),
            new User(Guid.CreateVersion7().ToString(), "Bob", 42),
        });
        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.EqualTo(2));
            Assert.That(_files.Rows(HelixStrand.Primary, "SELECT name FROM users ORDER BY name"), Is.EqualTo(new[] { "Alice", "Bob" }));
            Assert.That(_files.Rows(HelixStrand.Secondary, "SELECT name FROM users ORDER BY name"), Is.EqualTo(new[] { "Alice", "Bob" }));
        });
    }

    [Test]
    public async Task Query_and_QuerySingle_map_rows()
    {
        var id = Guid.CreateVersion7().ToString();
        await Execute("INSERT INTO users VALUES (@id, 'Carol', 27)", new { id });
        var all = await Query<User>("SELECT id, name, age FROM users");
        var one = IsAsync
            ? await _connection.QuerySingleAsync<User>("SELECT id, name, age FROM users WHERE id = @id", new { id })
            : _connection.QuerySingle<User>("SELECT id, name, age FROM users WHERE id = @id", new { id });
        var missing = IsAsync
            ? await _connection.QuerySingleOrDefaultAsync<User>("SELECT id, name, age FROM users WHERE id = @id", new { id = "nope" })
            : _connection.QuerySingleOrDefault<User>("SELECT id, name, age FROM users WHERE id = @id", new { id = "nope" });
        Assert.Multiple(() =>
        {
            Assert.That(all, Is.EqualTo(new[] { new User(id, "Carol", 27) }));
            Assert.That(one, Is.EqualTo(new User(id, "Carol", 27)));
            Assert.That(missing, Is.Null);
        });
    }

    [Test]
    public async Task ExecuteScalar_reads_and_writes()
    {
        await Execute("INSERT INTO users VALUES ('a', 'Dan', 50), ('b', 'Eve', 60)");
        var count = IsAsync ? await _connection.ExecuteScalarAsync<long>("SELECT count(*) FROM users") : _connection.ExecuteScalar<long>("SELECT count(*) FROM users");
        var returned = IsAsync
            ? await _connection.ExecuteScalarAsync<string>("INSERT INTO users VALUES ('c', 'Fay', 70) RETURNING name")
            : _connection.ExecuteScalar<string>("INSERT INTO users VALUES ('c', 'Fay', 70) RETURNING name");
        Assert.Multiple(() =>
        {
            Assert.That(count, Is.EqualTo(2));
            Assert.That(returned, Is.EqualTo("Fay"));
            Assert.That(_files.Rows(HelixStrand.Secondary, "SELECT count(*) FROM users"), Is.EqualTo(new[] { "3" }), "the write reached both strands");
        });
    }

    [Test]
    public async Task QueryMultiple_reads_every_result_set()
    {
        await Execute("INSERT INTO users VALUES ('a', 'Gus', 20), ('b', 'Hal', 30)");
        const string Sql = "SELECT count(*) FROM users; SELECT id, name, age FROM users ORDER BY age DESC";
        long count;
        List<User> users;
        if (IsAsync)
        {
            await using var grid = await _connection.QueryMultipleAsync(Sql);
            count = await grid.ReadSingleAsync<long>();
            users = (await grid.ReadAsync<User>()).ToList();
        }
        else
        {
            using var grid = _connection.QueryMultiple(Sql);
            count = grid.ReadSingle<long>();
            users = grid.Read<User>().ToList();
        }

        Assert.Multiple(() =>
        {
            Assert.That(count, Is.EqualTo(2));
            Assert.That(users.Select(u => u.Name), Is.EqualTo(new[] { "Hal", "Gus" }));
        });
    }

    [Test]
    public async Task List_parameters_and_nulls_work_as_with_the_plain_provider()
    {
        await Execute("INSERT INTO users VALUES ('a', 'Ivy', 1), ('b', 'Jon', 2), ('c', 'Kim', 3)");
        var picked = await Query<string>("SELECT name FROM users WHERE id IN @ids ORDER BY name", new { ids = new[] { "a", "c" } });
        var none = await Query<string>("SELECT name FROM users WHERE name = @name", new { name = (string?)null });
        Assert.Multiple(() =>
        {
            Assert.That(picked, Is.EqualTo(new[] { "Ivy", "Kim" }));
            Assert.That(none, Is.Empty);
        });
    }

    [Test]
    public async Task A_hint_comment_makes_a_select_a_write()
    {
        _files.ExecuteOnBoth("CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0)");
        var sql = "/* helix:write */ UPDATE counter SET n = n + 1 RETURNING n";
        var value = IsAsync ? await _connection.ExecuteScalarAsync<long>(sql) : _connection.ExecuteScalar<long>(sql);
        Assert.Multiple(() =>
        {
            Assert.That(value, Is.EqualTo(1));
            Assert.That(_files.Rows(HelixStrand.Primary, "SELECT n FROM counter"), Is.EqualTo(new[] { "1" }));
            Assert.That(_files.Rows(HelixStrand.Secondary, "SELECT n FROM counter"), Is.EqualTo(new[] { "1" }));
        });
    }

    [Test]
    public async Task A_unique_violation_on_both_strands_reaches_the_caller_as_the_provider_exception()
    {
        await Execute("INSERT INTO users VALUES ('a', 'Lou', 1)");
        var thrown = Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => Execute("INSERT INTO users VALUES ('a', 'Lou', 1)"));
        Assert.That(thrown!.SqliteErrorCode, Is.EqualTo(19));
    }
}
