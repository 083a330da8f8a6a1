using Helix.Data.Operations;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary><c>HelixResync</c> on SQLite strands: every table copied onto the strand brought back, resumable, and the strand returned to service.</summary>
public class ResyncTests
{
    [Test]
    public async Task A_strand_out_of_sync_gets_every_table_copied_and_returns_to_service()
    {
        using var files = SqliteStrands.WithResyncTables("resync-back");
        files.Execute(HelixStrand.Secondary, "DELETE FROM a WHERE id IN (2, 5)");
        files.Execute(HelixStrand.Secondary, "UPDATE b SET name = 'stale' WHERE id = 7");
        files.Execute(HelixStrand.Secondary, "INSERT INTO b VALUES (99, 'only here')");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        dataSource.GetStrand(HelixStrand.Secondary).Controller.StoreFailed(new InvalidOperationException("the test lost a write"));
        Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.OutOfSync));

        var report = await HelixResync.RunAsync(dataSource, new HelixResyncOptions { Strand = HelixStrand.Secondary });

        Assert.Multiple(() =>
        {
            Assert.That(report.Identical, Is.False, "the table without a one-column key is left alone and said so");
            Assert.That(report.Tables.Select(t => (t.Table, t.KeyColumn, t.RowsRepaired, t.Identical)), Is.EqualTo(new[]
            {
                ("a", "id", 2, true),
                ("b", "id", 2, true),
                ("pairs", (string?)null, 0, false),
            }));
            Assert.That(report.ReturnedToService, Is.False, "not every table is identical: the strand stays out of service");
            Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.Draining), "resynchronising: its writes are queued");
        });

        var rest = await HelixResync.RunAsync(dataSource, new HelixResyncOptions { Strand = HelixStrand.Secondary, Tables = ["a", "b"] });
        await Wait.ForReplayAsync(dataSource, TimeSpan.FromSeconds(30));
        Assert.Multiple(() =>
        {
            Assert.That(rest.Identical && rest.ReturnedToService, Is.True);
            Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.Healthy));
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT * FROM a"), Is.EqualTo(files.Rows(HelixStrand.Primary, "SELECT * FROM a")));
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT * FROM b"), Is.EqualTo(files.Rows(HelixStrand.Primary, "SELECT * FROM b")));
        });
    }

    [Test]
    public async Task An_interrupted_resync_resumes_after_the_tables_it_finished()
    {
        using var files = SqliteStrands.WithResyncTables("resync-resume");
        files.Execute(HelixStrand.Secondary, "DELETE FROM a");
        files.Execute(HelixStrand.Secondary, "DELETE FROM b");
        var state = Path.Combine(files.Folder, "resync.json");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        using var stop = new CancellationTokenSource();
        var options = new HelixResyncOptions { Strand = HelixStrand.Secondary, Tables = ["a", "b"], StateFile = state };

        // Stopped once the first table is done, as a ^C or a lost session would.
        Assert.That(async () => await HelixResync.RunAsync(dataSource, options, new StopAfterFirst(stop), stop.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllText(state), Does.Contain("\"a\"").And.Not.Contain("\"b\""));
            Assert.That(files.Scalar(HelixStrand.Secondary, "SELECT count(*) FROM a"), Is.EqualTo(10L));
            Assert.That(files.Scalar(HelixStrand.Secondary, "SELECT count(*) FROM b"), Is.Zero);
        });

        var report = await HelixResync.RunAsync(dataSource, options);
        Assert.Multiple(() =>
        {
            Assert.That(report.Tables.Select(t => (t.Table, t.Resumed, t.RowsRepaired)), Is.EqualTo(new[] { ("a", true, 0), ("b", false, 10) }));
            Assert.That(report.Identical, Is.True);
            Assert.That(File.Exists(state), Is.False, "a finished resync leaves no state behind");
            Assert.That(async () => await HelixResync.RunAsync(dataSource, new HelixResyncOptions { Strand = HelixStrand.Secondary, Tables = ["nope"] }), Throws.ArgumentException.With.Message.Contains("nope"));
        });
    }

    [Test]
    public async Task A_state_file_of_the_other_strand_is_refused()
    {
        using var files = SqliteStrands.WithResyncTables("resync-other");
        var state = Path.Combine(files.Folder, "resync.json");
        File.WriteAllText(state, """{"Strand":0,"Done":["a"]}""");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());

        Assert.That(
            async () => await HelixResync.RunAsync(dataSource, new HelixResyncOptions { Strand = HelixStrand.Secondary, StateFile = state }),
            Throws.InvalidOperationException.With.Message.Contains("strand Primary, not Secondary"));
    }

    private sealed class StopAfterFirst(CancellationTokenSource stop) : IProgress<HelixResyncTable>
    {
        public void Report(HelixResyncTable value) => stop.Cancel();
    }
}
