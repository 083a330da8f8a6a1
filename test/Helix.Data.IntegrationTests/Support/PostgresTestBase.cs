using Helix.Data.IntegrationTests;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Helix.Data.IntegrationTests.Support;

/// <summary>Runs each test against a fresh database of the same name on both PostgreSQL servers.</summary>
public abstract class PostgresTestBase
{
    protected string Database { get; private set; } = string.Empty;

    /// <summary>A Helix connection string over the test's database on both servers.</summary>
    protected string HelixConnectionString(string extra = "", string inner = "") =>
        $"Helix;Provider=Npgsql;Primary=\"{PostgresServers.Primary.ConnectionString(Database)}{inner}\";Secondary=\"{PostgresServers.Secondary.ConnectionString(Database)}{inner}\""
        + (extra.Length > 0 ? ";" + extra : string.Empty);

    [SetUp]
    public async Task CreateDatabaseAsync()
    {
        await PostgresServers.Primary.EnsureRunningAsync();
        await PostgresServers.Secondary.EnsureRunningAsync();
        Database = await PostgresServers.CreateDatabaseAsync(GetType().Name.ToLowerInvariant()[..Math.Min(20, GetType().Name.Length)]);
    }

    [TearDown]
    public async Task RestoreServersAsync()
    {
        await PostgresServers.Primary.EnsureRunningAsync();
        await PostgresServers.Secondary.EnsureRunningAsync();
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Waits (at most 60 s) until every strand of <paramref name="dataSource"/> has applied its backlog; fails naming each strand's state if not.</summary>
    protected static async Task WaitForReplayAsync(HelixDataSource dataSource)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await dataSource.WaitForReplayAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("Replay did not converge within 60 s: " + string.Join("; ", dataSource.GetStatus().Strands.Select(s => $"{s.Name} {s.State} backlog {s.Backlog} {s.LastError}")));
        }
    }

    /// <summary>Inner connection-string keys that log in as <c>helix_tenant_app</c>, a role row-level security applies to (superusers bypass it).</summary>
    protected const string TenantLogin = ";Username=helix_tenant_app;Password=helix";

    /// <summary>Creates the role <see cref="TenantLogin"/> logs in as on both servers, unless it is there already (roles belong to the server).</summary>
    protected Task CreateTenantRoleOnBothAsync() => ExecuteOnBothAsync("""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'helix_tenant_app') THEN CREATE ROLE helix_tenant_app LOGIN PASSWORD 'helix'; END IF;
        END $$
        """);

    protected async Task ExecuteOnBothAsync(string sql)
    {
        await ExecuteAsync(HelixStrand.Primary, sql);
        await ExecuteAsync(HelixStrand.Secondary, sql);
    }

    protected async Task ExecuteAsync(HelixStrand strand, string sql)
    {
        await using var connection = new NpgsqlConnection(PostgresServers.Of(strand).ConnectionString(Database) + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Every row of a query on one strand, read directly (not through Helix), as text.</summary>
    protected async Task<List<string>> RowsAsync(HelixStrand strand, string sql)
    {
        await using var connection = new NpgsqlConnection(PostgresServers.Of(strand).ConnectionString(Database) + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            var values = new object[reader.FieldCount];
            reader.GetValues(values);
            rows.Add(string.Join("|", values.Select(Format)));
        }

        return rows;
    }

    /// <summary>
    /// Rounds of <paramref name="workers"/> writers racing on one row, each making <paramref name="writes"/> writes a round
    /// (<paramref name="write"/> is given the round, the worker and the write); after each round the row read by
    /// <paramref name="valueQuery"/> is compared on the two servers. Returns the rounds that left them apart.
    /// </summary>
    protected async Task<List<string>> RoundsApartAsync(string valueQuery, int rounds, int workers, int writes, Func<int, int, int, Task> write)
    {
        var apart = new List<string>();
        for (var round = 0; round < rounds; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
            {
                for (var i = 0; i < writes; i++)
                {
                    await write(round, worker, i);
                }
            })));

            var (primary, secondary) = (await RowsAsync(HelixStrand.Primary, valueQuery), await RowsAsync(HelixStrand.Secondary, valueQuery));
            if (!primary.SequenceEqual(secondary))
            {
                apart.Add($"round {round}: primary {primary[0]}, secondary {secondary[0]}");
            }
        }

        return apart;
    }

    protected static string Checksum(IEnumerable<string> rows) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", rows))))[..16];

    private static string Format(object value) => value switch
    {
        DBNull => "NULL",
        byte[] bytes => Convert.ToHexString(bytes),
        Array array => "{" + string.Join(",", array.Cast<object>().Select(Format)) + "}",
        DateTime time => time.ToString("O", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
