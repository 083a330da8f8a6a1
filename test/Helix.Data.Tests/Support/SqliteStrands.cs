using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Helix.Data.Tests.Support;

/// <summary>Two SQLite files in a fresh temporary folder, used as the two strands of a test.</summary>
internal sealed class SqliteStrands : IDisposable
{
    private readonly List<SqliteConnection> _locks = [];

    public SqliteStrands(string? name = null)
    {
        Folder = Path.Combine(Path.GetTempPath(), "helix-tests", (name ?? "strands") + "-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Folder);
        PrimaryPath = Path.Combine(Folder, "primary.db");
        SecondaryPath = Path.Combine(Folder, "secondary.db");
    }

    public string Folder { get; }

    public string PrimaryPath { get; }

    public string SecondaryPath { get; }

    /// <summary>Two files with tables <c>a</c> and <c>b</c> (ten rows each, a one-column key) and <c>pairs</c> (a two-column key), as a resynchronisation finds them.</summary>
    public static SqliteStrands WithResyncTables(string name)
    {
        var files = new SqliteStrands(name);
        foreach (var table in new[] { "a", "b" })
        {
            files.ExecuteOnBoth($"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
            files.ExecuteOnBoth($"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) INSERT INTO {table} SELECT i, 'row ' || i FROM n");
        }

        files.ExecuteOnBoth("CREATE TABLE pairs (x INTEGER, y INTEGER, PRIMARY KEY (x, y))");
        return files;
    }

    /// <summary>The plain SQLite connection string of a strand; a busy database fails after one second.</summary>
    public string Inner(HelixStrand strand) =>
        $"Data Source={(strand == HelixStrand.Primary ? PrimaryPath : SecondaryPath)};Default Timeout=1;Pooling=False";

    /// <summary>A Helix connection string over both files, plus extra keys.</summary>
    public string ConnectionString(string extra = "") =>
        $"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{Inner(HelixStrand.Primary)}\";Secondary=\"{Inner(HelixStrand.Secondary)}\"" + (extra.Length > 0 ? ";" + extra : string.Empty);

    /// <summary>Runs SQL on both files directly, not through Helix.</summary>
    public void ExecuteOnBoth(string sql)
    {
        Execute(HelixStrand.Primary, sql);
        Execute(HelixStrand.Secondary, sql);
    }

    public void Execute(HelixStrand strand, string sql)
    {
        using var connection = new SqliteConnection(Inner(strand));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public object? Scalar(HelixStrand strand, string sql)
    {
        using var connection = new SqliteConnection(Inner(strand));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    /// <summary>Every row of a query on one strand, as text, in the order the query gives.</summary>
    public List<string> Rows(HelixStrand strand, string sql)
    {
        using var connection = new SqliteConnection(Inner(strand));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            var values = new object[reader.FieldCount];
            reader.GetValues(values);
            rows.Add(string.Join("|", values.Select(v => v is DBNull ? "NULL" : Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture))));
        }

        return rows;
    }

    public static string Checksum(IEnumerable<string> rows) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", rows))))[..16];

    /// <summary>
    /// Takes a strand down for real: another connection holds an exclusive lock on its file, so every connection that
    /// touches it gets SQLITE_BUSY until <see cref="Release"/>.
    /// </summary>
    public void Lock(HelixStrand strand)
    {
        var connection = new SqliteConnection(Inner(strand));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "BEGIN EXCLUSIVE";
        command.ExecuteNonQuery();
        _locks.Add(connection);
    }

    public void Release()
    {
        foreach (var connection in _locks)
        {
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "ROLLBACK";
                command.ExecuteNonQuery();
            }

            connection.Dispose();
        }

        _locks.Clear();
    }

    public void Dispose()
    {
        Release();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // a file still held by a pooled connection is cleaned with the temp folder
        }
    }
}
