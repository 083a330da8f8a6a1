using System.Data.Common;
using Helix.Data.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Helix.Data.Benchmarks;

/// <summary>
/// Two databases of one kind, as strands and as plain baselines: the plain provider's connection strings for each,
/// and the Helix connection string that puts them together. Each has a table <c>t</c> with one seeded row.
/// </summary>
public sealed class Stores : IDisposable
{
    /// <summary>The id of the row every read benchmark selects.</summary>
    public const string SeededId = "0193d2a0-0000-7000-8000-000000000001";

    /// <summary>The one-way delay of the proxies in front of the servers of <c>PostgresRemote</c>.</summary>
    public static readonly TimeSpan RemoteDelay = TimeSpan.FromMilliseconds(1);

    private readonly string? _folder;
    private LatencyProxy[] _proxies = [];

    private Stores(DbProviderFactory factory, string primary, string secondary, string helix, string? folder)
    {
        Factory = factory;
        Primary = primary;
        Secondary = secondary;
        Helix = helix;
        _folder = folder;
    }

    /// <summary>Gets the plain provider's factory.</summary>
    public DbProviderFactory Factory { get; }

    /// <summary>Gets the plain connection string of the first database.</summary>
    public string Primary { get; }

    /// <summary>Gets the plain connection string of the second database.</summary>
    public string Secondary { get; }

    /// <summary>Gets the Helix connection string over both; reads stick to the first, the database the plain baselines use.</summary>
    public string Helix { get; }

    /// <summary>Creates (or, for PostgreSQL, resets) both databases and seeds them.</summary>
    /// <param name="provider">
    /// <c>Sqlite</c> (two files in WAL mode), <c>Postgres</c> (two local servers), or <c>PostgresRemote</c>: the same
    /// servers each behind a proxy that delays every packet by <see cref="RemoteDelay"/> each way, as servers on other
    /// hosts are, so that the two strands' time is mostly the network's and not the two shared cores'; or <c>Null</c>,
    /// a provider without a database that answers at once (what the layers above the provider cost by themselves).
    /// </param>
    public static Stores Create(string provider)
    {
        Stores stores;
        if (provider == "PostgresRemote")
        {
            var (primary, secondary) = Servers.PostgresDatabases;
            var proxies = new[] { Behind(primary), Behind(secondary) };
            var (remotePrimary, remoteSecondary) = (Through(primary, proxies[0]), Through(secondary, proxies[1]));
            stores = new Stores(NpgsqlFactory.Instance, remotePrimary, remoteSecondary, $"Helix;Provider=Npgsql;Primary=\"{remotePrimary}\";Secondary=\"{remoteSecondary}\";Preferred Strand=Primary", null)
            {
                _proxies = proxies,
            };
            provider = "Postgres";

            static LatencyProxy Behind(string connectionString) =>
                new(new NpgsqlConnectionStringBuilder(connectionString).Port) { Delay = RemoteDelay };

            static string Through(string connectionString, LatencyProxy proxy) =>
                new NpgsqlConnectionStringBuilder(connectionString) { Port = proxy.Port }.ConnectionString;
        }
        else if (provider == "Null")
        {
            // No database: what the layers above the provider cost by themselves (NullProvider.cs).
            NullFactory.Register();
            stores = new Stores(NullFactory.Instance, "Name=a", "Name=b", $"Helix;Provider={NullFactory.InvariantName};Primary=\"Name=a\";Secondary=\"Name=b\";Preferred Strand=Primary", null);
        }
        else if (provider == "Sqlite")
        {
            var folder = Directory.CreateTempSubdirectory("helix-bench-").FullName;
            string Inner(string name) => $"Data Source={Path.Combine(folder, name)};Pooling=True";
            stores = new Stores(SqliteFactory.Instance, Inner("a.db"), Inner("b.db"), $"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{Inner("a.db")}\";Secondary=\"{Inner("b.db")}\";Preferred Strand=Primary", folder);
        }
        else
        {
            var (primary, secondary) = Servers.PostgresDatabases;
            stores = new Stores(NpgsqlFactory.Instance, primary, secondary, $"Helix;Provider=Npgsql;Primary=\"{primary}\";Secondary=\"{secondary}\";Preferred Strand=Primary", null);
        }

        foreach (var connectionString in new[] { stores.Primary, stores.Secondary })
        {
            using var connection = stores.Factory.CreateConnection()!;
            connection.ConnectionString = connectionString;
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = (provider == "Sqlite" ? "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; " : string.Empty)
                + "DROP TABLE IF EXISTS t; CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT NOT NULL, amount NUMERIC NOT NULL, version BIGINT NOT NULL); "
                + $"INSERT INTO t VALUES ('{SeededId}', 'Ada Lovelace', 12.5, 1)";
            command.ExecuteNonQuery();
        }

        return stores;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        NpgsqlConnection.ClearAllPools();
        foreach (var proxy in _proxies)
        {
            proxy.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        if (_folder is not null)
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}

/// <summary>The row the benchmarks read and write.</summary>
public sealed class Row
{
    /// <summary>Gets or sets the key.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>Gets or sets a name.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Gets or sets an amount.</summary>
    public decimal Amount { get; set; }

    /// <summary>Gets or sets a version.</summary>
    public long Version { get; set; }

    /// <summary>A new row with a fresh key, as each insert has.</summary>
    public static Row Fresh() => new() { Id = Guid.CreateVersion7().ToString(), Name = "Ada Lovelace", Amount = 12.5m, Version = 1 };
}
