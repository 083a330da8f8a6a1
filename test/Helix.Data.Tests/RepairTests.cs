using Helix.Data.Operations;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary><c>HelixRepairer</c> on SQLite strands: the winning row of each difference is written through Helix, and a second verify is clean.</summary>
public class RepairTests
{
    [Test]
    public async Task From_a_strand_its_rows_win_and_rows_it_lacks_are_deleted()
    {
        using var files = Table("repair-from");
        files.Execute(HelixStrand.Secondary, "DELETE FROM t WHERE id = 3");
        files.Execute(HelixStrand.Primary, "UPDATE t SET name = 'fixed' WHERE id = 5");
        files.Execute(HelixStrand.Secondary, "INSERT INTO t VALUES (99, 'stray', 0)");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());

        var report = await HelixRepairer.RepairAsync(dataSource, new HelixRepairOptions { Verify = Verify(), From = HelixStrand.Primary });

        Assert.Multiple(() =>
        {
            Assert.That(report.Actions, Is.EqualTo(new[]
            {
                new HelixRepairAction(3L, HelixRepairActionKind.Copy, HelixStrand.Primary),
                new HelixRepairAction(5L, HelixRepairActionKind.Copy, HelixStrand.Primary),
                new HelixRepairAction(99L, HelixRepairActionKind.Delete, HelixStrand.Primary),
            }));
            Assert.That(report.After!.Identical, Is.True, "a second verify is clean");
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT name FROM t WHERE id IN (3, 5) ORDER BY id"), Is.EqualTo(new[] { "row 3", "fixed" }));
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT count(*) FROM t"), Is.EqualTo(new[] { "20" }), "the primary kept its rows");
        });
    }

    [Test]
    public async Task With_a_version_column_the_newer_row_wins_and_equal_versions_need_a_strand_to_decide()
    {
        using var files = Table("repair-version");
        files.Execute(HelixStrand.Secondary, "UPDATE t SET name = 'newer on the secondary', version = 2 WHERE id = 1");
        files.Execute(HelixStrand.Primary, "UPDATE t SET name = 'newer on the primary', version = 3 WHERE id = 2");
        files.Execute(HelixStrand.Primary, "DELETE FROM t WHERE id = 4");
        files.Execute(HelixStrand.Secondary, "UPDATE t SET name = 'same version, other name' WHERE id = 6");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());

        var byVersion = await HelixRepairer.RepairAsync(dataSource, new HelixRepairOptions { Verify = Verify(), VersionColumn = "version" });

        Assert.Multiple(() =>
        {
            Assert.That(byVersion.Actions, Is.EqualTo(new[]
            {
                new HelixRepairAction(1L, HelixRepairActionKind.Copy, HelixStrand.Secondary),
                new HelixRepairAction(2L, HelixRepairActionKind.Copy, HelixStrand.Primary),
                new HelixRepairAction(4L, HelixRepairActionKind.Copy, HelixStrand.Secondary),
                new HelixRepairAction(6L, HelixRepairActionKind.Unresolved, null),
            }));
            Assert.That(byVersion.After!.Differences.Select(d => d.Key), Is.EqualTo(new object[] { 6L }), "only the unresolved row still differs");
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT name FROM t WHERE id = 1"), Is.EqualTo(new[] { "newer on the secondary" }));
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT name FROM t WHERE id = 2"), Is.EqualTo(new[] { "newer on the primary" }));
        });

        var decided = await HelixRepairer.RepairAsync(dataSource, new HelixRepairOptions { Verify = Verify(), VersionColumn = "version", From = HelixStrand.Secondary });
        Assert.That(decided.After!.Identical, Is.True);
        Assert.That(files.Rows(HelixStrand.Primary, "SELECT name FROM t WHERE id = 6"), Is.EqualTo(new[] { "same version, other name" }));
    }

    [Test]
    public async Task A_dry_run_changes_nothing()
    {
        using var files = Table("repair-dry");
        files.Execute(HelixStrand.Secondary, "DELETE FROM t WHERE id = 3");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());

        var report = await HelixRepairer.RepairAsync(dataSource, new HelixRepairOptions { Verify = Verify(), From = HelixStrand.Primary, DryRun = true });

        Assert.That(report.Actions, Is.EqualTo(new[] { new HelixRepairAction(3L, HelixRepairActionKind.Copy, HelixStrand.Primary) }));
        Assert.That(report.After, Is.Null);
        Assert.That(files.Rows(HelixStrand.Secondary, "SELECT count(*) FROM t WHERE id = 3"), Is.EqualTo(new[] { "0" }));
        Assert.That(() => HelixRepairer.RepairAsync(dataSource, new HelixRepairOptions { Verify = Verify() }), Throws.ArgumentException.With.Message.Contain("Say which row wins"));
    }

    private static HelixVerifyOptions Verify() => new() { Table = "t", KeyColumn = "id", ChunkRows = 8, RowByRowBelow = 2, Settle = TimeSpan.FromSeconds(1) };

    private static SqliteStrands Table(string name)
    {
        var files = new SqliteStrands(name);
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL)");
        files.ExecuteOnBoth("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) INSERT INTO t SELECT i, 'row ' || i, 1 FROM n");
        return files;
    }
}
