using Dapper;
using Helix.Data.Operations;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary><c>HelixVerifier</c> on SQLite strands: divergences made on purpose are found exactly, by checksums and bisection.</summary>
public class VerifyTests
{
    private static readonly HelixVerifyOptions Fine = new() { Table = "t", KeyColumn = "id", ChunkRows = 100, RowByRowBelow = 8, Settle = TimeSpan.FromSeconds(2) };

    [Test]
    public async Task Identical_strands_cost_one_checksum_per_range_and_no_rows()
    {
        using var files = Table("verify-same", 1000);
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());

        var report = await HelixVerifier.VerifyAsync(dataSource, Fine);

        Assert.Multiple(() =>
        {
            Assert.That(report.Identical, Is.True);
            Assert.That(report.Rows, Is.EqualTo(1000));
            Assert.That(report.ChecksumQueries, Is.EqualTo(11), "ten ranges of 100 and the open one after the last key");
            Assert.That(report.ValuesTransferred, Is.LessThan(60), "counts, sums and range boundaries only");
        });
    }

    [Test]
    public async Task Rows_deleted_changed_and_added_on_one_strand_are_found_exactly()
    {
        using var files = Table("verify-diff", 1000);
        files.Execute(HelixStrand.Secondary, "DELETE FROM t WHERE id = 17");
        files.Execute(HelixStrand.Primary, "UPDATE t SET name = 'changed' WHERE id = 500");
        files.Execute(HelixStrand.Secondary, "UPDATE t SET amount = NULL WHERE id = 501");
        files.Execute(HelixStrand.Primary, "UPDATE t SET amount = '42' WHERE id = 502"); // the same digits, another type
        files.Execute(HelixStrand.Secondary, "INSERT INTO t VALUES (5000, 'only here', 1)"); // past the primary's last key
        files.Execute(HelixStrand.Primary, "INSERT INTO t VALUES (-1, 'only here', 1)"); // before its first
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());

        var report = await HelixVerifier.VerifyAsync(dataSource, Fine);

        Assert.That(report.Differences, Is.EqualTo(new[]
        {
            new HelixRowDifference(-1L, HelixRowDifferenceKind.MissingOnSecondary),
            new HelixRowDifference(17L, HelixRowDifferenceKind.MissingOnSecondary),
            new HelixRowDifference(500L, HelixRowDifferenceKind.Differs),
            new HelixRowDifference(501L, HelixRowDifferenceKind.Differs),
            new HelixRowDifference(502L, HelixRowDifferenceKind.Differs),
            new HelixRowDifference(5000L, HelixRowDifferenceKind.MissingOnPrimary),
        }));
        Assert.That(report.ValuesTransferred, Is.LessThan(400), "ranges are split down to the rows that differ; the 1,000 rows are not sent");
    }

    // The settle loop once returned nothing when the replay backlog did not empty in time: a drained strand made every
    // verify report "identical".
    [Test]
    public async Task A_difference_is_reported_while_a_strand_is_drained_and_its_backlog_cannot_empty()
    {
        using var files = Table("verify-drained", 100);
        files.Execute(HelixStrand.Secondary, "DELETE FROM t WHERE id = 42");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        dataSource.Drain(HelixStrand.Secondary, "maintenance");
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE t SET name = 'queued' WHERE id = 7"); // queued for the drained strand
        }

        var settled = await HelixVerifier.VerifyAsync(dataSource, new HelixVerifyOptions { Table = "t", Settle = TimeSpan.FromMilliseconds(300) });
        var unsettled = await HelixVerifier.VerifyAsync(dataSource, new HelixVerifyOptions { Table = "t", Settle = TimeSpan.Zero });

        Assert.Multiple(() =>
        {
            Assert.That(settled.Differences.Select(d => (d.Key, d.Kind)), Is.EqualTo(new[] { ((object)7L, HelixRowDifferenceKind.Differs), (42L, HelixRowDifferenceKind.MissingOnSecondary) }));
            Assert.That(unsettled.Differences, Is.EqualTo(settled.Differences));
        });
    }

    [Test]
    public async Task Only_the_columns_asked_for_are_compared()
    {
        using var files = Table("verify-columns", 50);
        files.Execute(HelixStrand.Secondary, "UPDATE t SET amount = 0 WHERE id = 7");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());

        var byName = await HelixVerifier.VerifyAsync(dataSource, new HelixVerifyOptions { Table = "t", KeyColumn = "id", Columns = ["name"] });
        var all = await HelixVerifier.VerifyAsync(dataSource, new HelixVerifyOptions { Table = "t", KeyColumn = "id" });

        Assert.That(byName.Identical, Is.True);
        Assert.That(all.Differences, Is.EqualTo(new[] { new HelixRowDifference(7L, HelixRowDifferenceKind.Differs) }));
    }

    [Test]
    public async Task Writes_going_on_through_Helix_during_a_verify_are_not_reported()
    {
        using var files = Table("verify-live", 2000);
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        using var stop = new CancellationTokenSource();
        var written = 0;
        var writer = Task.Run(async () =>
        {
            var random = new Random(1);
            while (!stop.IsCancellationRequested)
            {
                await using var connection = await dataSource.OpenConnectionAsync();
                await connection.ExecuteAsync("UPDATE t SET amount = amount + 1 WHERE id = @id", new { id = random.Next(2000) });
                Interlocked.Increment(ref written);
            }
        });

        await Wait.UntilAsync(() => Volatile.Read(ref written) > 50, "the writer runs");
        var report = await HelixVerifier.VerifyAsync(dataSource, Fine);
        await stop.CancelAsync();
        await writer;

        Assert.That(report.Differences, Is.Empty, $"{written} writes went on; none is a difference");
    }

    [Test]
    public void What_cannot_be_compared_is_refused_before_anything_runs()
    {
        using var files = Table("verify-refused", 1);
        using var single = HelixDataSource.Create($"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{files.Inner(HelixStrand.Primary)}\"");
        using var two = HelixDataSource.Create(files.ConnectionString());

        Assert.That(() => HelixVerifier.VerifyAsync(single, Fine), Throws.InvalidOperationException.With.Message.Contain("one strand"));
        Assert.That(() => HelixVerifier.VerifyAsync(two, new HelixVerifyOptions { Table = "t; DROP TABLE t" }), Throws.ArgumentException.With.Message.Contain("not a table name"));
        Assert.That(() => HelixVerifier.VerifyAsync(two, new HelixVerifyOptions { Table = "t", KeyColumn = "nope" }), Throws.ArgumentException.With.Message.Contain("has no column nope"));
    }

    private static SqliteStrands Table(string name, int rows)
    {
        var files = new SqliteStrands(name);
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, amount)");
        files.ExecuteOnBoth($"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {rows - 1}) INSERT INTO t SELECT i, 'row ' || i, i * 10 FROM n");
        return files;
    }
}
