using Dapper;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Operations;

namespace Helix.Data.IntegrationTests;

/// <summary><c>HelixVerifier</c> on the two real PostgreSQL servers: checksums computed by each server, bisection to the rows.</summary>
public class PostgresVerifyTests : PostgresTestBase
{
    [Test]
    public async Task Divergences_made_on_purpose_are_found_exactly_and_identical_tables_are_clean()
    {
        await ExecuteOnBothAsync("CREATE TABLE orders (id uuid PRIMARY KEY, customer text NOT NULL, total numeric(12,2), placed timestamptz NOT NULL)");
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        var ids = Enumerable.Range(0, 5000).Select(n => Guid.Parse($"00000000-0000-7000-8000-{n:x12}")).ToArray(); // ordered as PostgreSQL orders uuids
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "INSERT INTO orders SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, 'customer ' || n, n * 1.5, timestamptz '2026-01-01' + n * interval '1 minute' FROM generate_series(0, 4999) n");
        }

        var clean = await HelixVerifier.VerifyAsync(dataSource, Options());
        await ExecuteAsync(HelixStrand.Secondary, $"DELETE FROM orders WHERE id = '{ids[10]}'");
        await ExecuteAsync(HelixStrand.Primary, $"UPDATE orders SET total = total + 0.01 WHERE id = '{ids[2500]}'");
        await ExecuteAsync(HelixStrand.Secondary, $"UPDATE orders SET customer = 'Customer 4999' WHERE id = '{ids[4999]}'");
        var extra = Guid.Parse("00000000-0000-7000-8000-0000000fffff");
        await ExecuteAsync(HelixStrand.Secondary, $"INSERT INTO orders VALUES ('{extra}', 'only on the secondary', 1, now())");

        var report = await HelixVerifier.VerifyAsync(dataSource, Options());

        Assert.Multiple(() =>
        {
            Assert.That(clean.Identical, Is.True);
            Assert.That(clean.Rows, Is.EqualTo(5000));
            Assert.That(report.Differences, Is.EqualTo(new[]
            {
                new HelixRowDifference(ids[10], HelixRowDifferenceKind.MissingOnSecondary),
                new HelixRowDifference(ids[2500], HelixRowDifferenceKind.Differs),
                new HelixRowDifference(ids[4999], HelixRowDifferenceKind.Differs),
                new HelixRowDifference(extra, HelixRowDifferenceKind.MissingOnPrimary),
            }));
            Assert.That(report.ValuesTransferred, Is.LessThan(2000), "under a tenth of the table's 20,000 values: four ranges of at most 64 rows, by key and hash");
        });
    }

    [Test]
    public async Task A_repair_from_the_primary_leaves_the_strands_identical()
    {
        await ExecuteOnBothAsync("CREATE TABLE orders (id uuid PRIMARY KEY, customer text NOT NULL, total numeric(12,2), placed timestamptz NOT NULL, tags text[])");
        await ExecuteOnBothAsync("INSERT INTO orders SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, 'customer ' || n, n * 1.5, timestamptz '2026-01-01' + n * interval '1 minute', ARRAY['a', n::text] FROM generate_series(0, 999) n");
        await ExecuteAsync(HelixStrand.Secondary, "DELETE FROM orders WHERE customer IN ('customer 10', 'customer 11')");
        await ExecuteAsync(HelixStrand.Secondary, "UPDATE orders SET total = NULL, tags = NULL WHERE customer = 'customer 500'");
        await ExecuteAsync(HelixStrand.Secondary, "INSERT INTO orders VALUES ('00000000-0000-7000-8000-0000000fffff', 'stray', 1, now(), NULL)");
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());

        var report = await HelixRepairer.RepairAsync(dataSource, new HelixRepairOptions { Verify = Options(), From = HelixStrand.Primary });

        Assert.Multiple(() =>
        {
            Assert.That(report.Before.Differences, Has.Count.EqualTo(4));
            Assert.That(report.Actions.Select(a => a.Kind), Is.EqualTo(new[] { HelixRepairActionKind.Copy, HelixRepairActionKind.Copy, HelixRepairActionKind.Copy, HelixRepairActionKind.Delete }));
            Assert.That(report.After!.Identical, Is.True, "a second verify is clean");
        });
        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT total, tags FROM orders WHERE customer = 'customer 500'"), Is.EqualTo(await RowsAsync(HelixStrand.Primary, "SELECT total, tags FROM orders WHERE customer = 'customer 500'")));
    }

    private static HelixVerifyOptions Options() => new() { Table = "orders", KeyColumn = "id", ChunkRows = 1000, Settle = TimeSpan.FromSeconds(2) };
}
