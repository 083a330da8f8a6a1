using System.Globalization;
using Dapper;
using Helix.Data.Operations;
using Npgsql;

namespace Helix.Data.Benchmarks;

/// <summary>
/// <c>HelixVerifier</c> on a table of a million rows on the two local PostgreSQL servers, which differs in 10 rows
/// (docs/performance.md, "Verifying strands"): how long it takes, and how many values come to the client.
/// </summary>
public static class VerifyRun
{
    public static void Run(int rows)
    {
        var (primary, secondary) = Servers.PostgresDatabases;
        foreach (var server in new[] { primary, secondary })
        {
            using var connection = new NpgsqlConnection(server);
            connection.Open();
            connection.Execute("DROP TABLE IF EXISTS verify_orders; CREATE TABLE verify_orders (id bigint PRIMARY KEY, customer text NOT NULL, total numeric(12,2) NOT NULL, placed timestamptz NOT NULL)");
            connection.Execute("INSERT INTO verify_orders SELECT n, 'customer ' || (n % 9973), n * 0.25, timestamptz '2026-01-01' + n * interval '1 second' FROM generate_series(1, @rows) n", new { rows }, commandTimeout: 600);
            connection.Execute("ANALYZE verify_orders");
        }

        var changed = Enumerable.Range(1, 10).Select(i => (long)i * rows / 11).ToArray();
        using (var connection = new NpgsqlConnection(secondary))
        {
            connection.Open();
            connection.Execute("UPDATE verify_orders SET total = total + 1 WHERE id = ANY(@changed)", new { changed });
        }

        using var dataSource = HelixDataSource.Create($"Helix;Provider=Npgsql;Primary=\"{primary}\";Secondary=\"{secondary}\";Name=verify_bench");
        foreach (var chunk in new[] { 10_000, 50_000 })
        {
            var report = HelixVerifier.VerifyAsync(dataSource, new HelixVerifyOptions { Table = "verify_orders", KeyColumn = "id", ChunkRows = chunk }).GetAwaiter().GetResult();
            var found = report.Differences.Select(d => Convert.ToInt64(d.Key, CultureInfo.InvariantCulture)).Order().SequenceEqual(changed);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {rows:N0} rows, ChunkRows={chunk:N0} | {report.Elapsed.TotalSeconds:0.00} s | {report.Differences.Count} differences ({(found ? "exactly the 10 changed" : "NOT the changed rows")}) | {report.ChecksumQueries} checksums | {report.ValuesTransferred:N0} values (about {report.ValuesTransferred * 12 / 1024.0:0} KiB) |"));
        }
    }
}
