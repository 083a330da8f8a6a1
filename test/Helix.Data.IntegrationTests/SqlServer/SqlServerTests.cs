using System.Data;
using Dapper;
using Microsoft.Data.SqlClient;

namespace Helix.Data.IntegrationTests.SqlServer;

/// <summary>
/// Helix.Data on two real SQL Servers, when <c>HELIX_TEST_SQLSERVER_PRIMARY</c> and <c>HELIX_TEST_SQLSERVER_SECONDARY</c>
/// name them (connection strings with rights to create databases). No SQL Server can run on the machine these tests
/// were written on, so without the variables every test here is reported as skipped, saying so (docs/sqlserver.md).
/// </summary>
public class SqlServerTests
{
    private const string Upsert = """
        MERGE items WITH (HOLDLOCK) AS t
        USING (SELECT @id AS id, @name AS name, @helix_ts AS version) AS s ON t.id = s.id
        WHEN MATCHED AND t.version < s.version THEN UPDATE SET name = s.name, version = s.version
        WHEN NOT MATCHED THEN INSERT (id, name, version) VALUES (s.id, s.name, s.version);
        """;

    private string _database = string.Empty;

    private static string Primary => Environment.GetEnvironmentVariable("HELIX_TEST_SQLSERVER_PRIMARY") ?? string.Empty;

    private static string Secondary => Environment.GetEnvironmentVariable("HELIX_TEST_SQLSERVER_SECONDARY") ?? string.Empty;

    [SetUp]
    public async Task CreateDatabaseAsync()
    {
        if (Primary.Length == 0 || Secondary.Length == 0)
        {
            Assert.Ignore("SQL Server tests did not run: set HELIX_TEST_SQLSERVER_PRIMARY and HELIX_TEST_SQLSERVER_SECONDARY to two servers' connection strings.");
        }

        _database = $"helix_{Guid.NewGuid():N}"[..24];
        foreach (var server in new[] { Primary, Secondary })
        {
            await using var connection = new SqlConnection(server);
            await connection.OpenAsync();
            await connection.ExecuteAsync($"CREATE DATABASE [{_database}]");
            await connection.ChangeDatabaseAsync(_database);
            await connection.ExecuteAsync("CREATE TABLE items (id UNIQUEIDENTIFIER PRIMARY KEY, name NVARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
            await connection.ExecuteAsync("CREATE TYPE dbo.IdList AS TABLE (id UNIQUEIDENTIFIER PRIMARY KEY)");
        }
    }

    [TearDown]
    public async Task DropDatabaseAsync()
    {
        if (_database.Length == 0)
        {
            return;
        }

        SqlConnection.ClearAllPools();
        foreach (var server in new[] { Primary, Secondary })
        {
            await using var connection = new SqlConnection(server);
            await connection.OpenAsync();
            await connection.ExecuteAsync($"ALTER DATABASE [{_database}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [{_database}]");
        }
    }

    [Test]
    public async Task Dapper_writes_reach_both_servers_and_reads_come_back()
    {
        await using var connection = new HelixConnection(HelixConnectionString());
        var id = Guid.CreateVersion7();
        await connection.ExecuteAsync(Upsert, new { id, name = "Alice" });
        Assert.Multiple(async () =>
        {
            Assert.That(await connection.QuerySingleAsync<string>("SELECT name FROM items WHERE id = @id", new { id }), Is.EqualTo("Alice"));
            Assert.That(await CountAsync(Primary), Is.EqualTo(1));
            Assert.That(await CountAsync(Secondary), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_duplicate_key_reaches_the_caller_as_SqlClient_s_own_exception()
    {
        await using var connection = new HelixConnection(HelixConnectionString());
        var id = Guid.CreateVersion7();
        const string Insert = "INSERT INTO items (id, name, version) VALUES (@id, 'x', 1)";
        await connection.ExecuteAsync(Insert, new { id });
        var e = Assert.CatchAsync<SqlException>(() => connection.ExecuteAsync(Insert, new { id }));
        Assert.That(e!.Number, Is.EqualTo(2627));
    }

    [Test]
    public async Task A_table_valued_parameter_reaches_both_servers()
    {
        var table = new DataTable();
        table.Columns.Add("id", typeof(Guid));
        var ids = Enumerable.Range(0, 3).Select(_ => Guid.CreateVersion7()).ToList();
        ids.ForEach(id => table.Rows.Add(id));
        await using var connection = new HelixConnection(HelixConnectionString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO items (id, name, version) SELECT id, 'tvp', 1 FROM @ids";
        command.Parameters.Add(new SqlParameter("@ids", SqlDbType.Structured) { TypeName = "dbo.IdList", Value = table });
        Assert.That(await command.ExecuteNonQueryAsync(), Is.EqualTo(3));
        Assert.Multiple(async () =>
        {
            Assert.That(await CountAsync(Primary), Is.EqualTo(3));
            Assert.That(await CountAsync(Secondary), Is.EqualTo(3));
        });
    }

    [Test]
    public async Task Commit_and_savepoints_on_both_servers()
    {
        await using var connection = new HelixConnection(HelixConnectionString());
        await connection.OpenAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync(Upsert, new { id = Guid.CreateVersion7(), name = "kept" }, transaction);
            await transaction.SaveAsync("s1");
            await connection.ExecuteAsync(Upsert, new { id = Guid.CreateVersion7(), name = "undone" }, transaction);
            await transaction.RollbackAsync("s1");
            await transaction.CommitAsync();
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await CountAsync(Primary), Is.EqualTo(1));
            Assert.That(await CountAsync(Secondary), Is.EqualTo(1));
        });
    }

    private string HelixConnectionString() =>
        $"Helix;Provider=Microsoft.Data.SqlClient;Primary=\"{Inner(Primary)}\";Secondary=\"{Inner(Secondary)}\"";

    private string Inner(string server) => new SqlConnectionStringBuilder(server) { InitialCatalog = _database }.ConnectionString.Replace("\"", "'", StringComparison.Ordinal);

    private async Task<int> CountAsync(string server)
    {
        await using var connection = new SqlConnection(Inner(server));
        return await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM items");
    }
}
