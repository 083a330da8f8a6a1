using System.Globalization;
using MySqlConnector;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>Runs each test against a fresh database of the same name on both MariaDB servers.</summary>
public abstract class MariaDbTestBase
{
    protected string Database { get; private set; } = string.Empty;

    /// <summary>A Helix connection string over the test's database on both servers, in the bare form (the provider is inferred).</summary>
    protected string HelixConnectionString(string extra = "", string inner = "") =>
        $"Helix;Primary=\"{MariaDbServers.Primary.ConnectionString(Database)}{inner}\";Secondary=\"{MariaDbServers.Secondary.ConnectionString(Database)}{inner}\""
        + (extra.Length > 0 ? ";" + extra : string.Empty);

    [SetUp]
    public async Task CreateDatabaseAsync()
    {
        await MariaDbServers.Primary.EnsureRunningAsync();
        await MariaDbServers.Secondary.EnsureRunningAsync();
        Database = await MariaDbServers.CreateDatabaseAsync(GetType().Name.ToLowerInvariant()[..Math.Min(20, GetType().Name.Length)]);
    }

    [TearDown]
    public async Task RestoreServersAsync()
    {
        await MariaDbServers.Primary.EnsureRunningAsync();
        await MariaDbServers.Secondary.EnsureRunningAsync();
        MySqlConnection.ClearAllPools();
    }

    protected async Task ExecuteOnBothAsync(string sql)
    {
        await ExecuteAsync(HelixStrand.Primary, sql);
        await ExecuteAsync(HelixStrand.Secondary, sql);
    }

    protected async Task ExecuteAsync(HelixStrand strand, string sql)
    {
        await using var connection = await OpenDirectAsync(strand);
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>A connection to one strand's database, not through Helix.</summary>
    protected async Task<MySqlConnection> OpenDirectAsync(HelixStrand strand)
    {
        var connection = new MySqlConnection(MariaDbServers.Of(strand).ConnectionString(Database) + ";Pooling=false");
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Every row of a query on one strand, read directly (not through Helix), as text.</summary>
    protected async Task<List<string>> RowsAsync(HelixStrand strand, string sql)
    {
        await using var connection = await OpenDirectAsync(strand);
        await using var command = new MySqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            var values = new object[reader.FieldCount];
            reader.GetValues(values);
            rows.Add(string.Join("|", values.Select(v => v switch
            {
                DBNull => "NULL",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => v.ToString(),
            })));
        }

        return rows;
    }
}
