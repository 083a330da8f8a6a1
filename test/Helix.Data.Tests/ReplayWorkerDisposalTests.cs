using Helix.Data.Replay;
using Helix.Data.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Tests;

/// <summary>Disposing a data source: while its replay queue fails to open, and while its in-process queue holds writes.</summary>
public class ReplayWorkerDisposalTests
{
    // The full test run caught it: a NATS server killed, the data source disposed while the queue's connection attempt
    // failed, and DisposeAsync threw the queue's "can not connect" error.
    [Test]
    public async Task A_queue_that_fails_to_open_while_the_data_source_is_disposed_does_not_make_the_disposal_throw()
    {
        using var files = new SqliteStrands("dispose-opening");
        var queue = new OpeningQueue();
        var dataSource = new HelixDataSourceBuilder(files.ConnectionString()).UseReplayQueue(queue).Build();
        await queue.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var disposing = dataSource.DisposeAsync().AsTask();
        queue.Fail.SetResult(); // the attempt fails now, after the disposal has begun

        Assert.That(async () => await disposing.WaitAsync(TimeSpan.FromSeconds(10)), Throws.Nothing);
    }

    // Found 2026-12-06 (amendment 42) stopping an application while a strand was behind: with Replay=Memory, the
    // default, the writes its backlog held ended with the data source, and nothing said so.
    [Test]
    public async Task Writes_the_memory_queue_still_holds_for_a_strand_that_cannot_take_them_are_logged_as_lost_when_the_data_source_is_disposed()
    {
        using var logs = new CollectingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var strands = new FaultyStrands("Name=orders", b => b.UseLoggerFactory(loggerFactory));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        strands.DataSource.Drain(HelixStrand.Secondary, "maintenance"); // the worker does not apply its backlog
        await InsertAsync(strands.DataSource, 3);

        var disposing = System.Diagnostics.Stopwatch.StartNew();
        await strands.DataSource.DisposeAsync();
        Assert.That(disposing.Elapsed, Is.LessThan(TimeSpan.FromSeconds(4)), "nothing to wait for: the strand takes no replay");
        var lost = logs.Entries.Where(e => e.Id.Id == 1003).ToList();
        Assert.That(lost, Has.Count.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(lost[0].Level, Is.EqualTo(LogLevel.Error));
            Assert.That(lost[0].Message, Does.Contain("orders").And.Contain("3 writes").And.Contain("strand secondary").And.Contain("Replay=file:"));
        });
    }

    [Test]
    public async Task Disposing_waits_for_a_strand_catching_up_to_take_what_the_memory_queue_holds()
    {
        using var logs = new CollectingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var strands = new FaultyStrands(configure: b => b.UseLoggerFactory(loggerFactory));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        strands.DataSource.Drain(HelixStrand.Secondary, "maintenance");
        await InsertAsync(strands.DataSource, 3);
        using var gate = HoldReplayedInserts(strands);
        strands.DataSource.Undrain(HelixStrand.Secondary); // catching up: the worker applies, and waits at the gate

        var disposing = strands.DataSource.DisposeAsync().AsTask();
        Assert.That(disposing.IsCompleted, Is.False, "it waits for the strand that takes the replay");
        gate.Set();
        await disposing.WaitAsync(Wait.Default);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT count(*) FROM t"), Is.EqualTo(new[] { "3" }));
            Assert.That(logs.Entries.Where(e => e.Id.Id == 1003), Is.Empty);
        });
    }

    [Test]
    public async Task With_DrainOnDispose_zero_disposing_does_not_wait_and_logs_what_is_left_as_lost()
    {
        using var logs = new CollectingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var strands = new FaultyStrands(configure: b => b.UseLoggerFactory(loggerFactory).ConfigureReplay(o => o.DrainOnDispose = TimeSpan.Zero));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        strands.DataSource.Drain(HelixStrand.Secondary, "maintenance");
        await InsertAsync(strands.DataSource, 3);
        using var gate = HoldReplayedInserts(strands);
        strands.DataSource.Undrain(HelixStrand.Secondary);

        var disposing = strands.DataSource.DisposeAsync().AsTask();
        await Wait.UntilAsync(() => logs.Entries.Any(e => e.Id.Id == 1003), "the writes left logged as lost, the replay still held");
        gate.Set(); // the worker's loop ends once its statement does
        await disposing.WaitAsync(Wait.Default);
        Assert.That(logs.Entries.Single(e => e.Id.Id == 1003).Message, Does.Contain("3 writes"));
    }

    [Test]
    public void DrainOnDispose_cannot_be_negative() =>
        Assert.That(
            () => new HelixDataSourceBuilder("Helix;Primary=\"Data Source=a.db\";Secondary=\"Data Source=b.db\"").ConfigureReplay(o => o.DrainOnDispose = TimeSpan.FromSeconds(-1)).Build(),
            Throws.ArgumentException.With.Message.Contains("DrainOnDispose"));

    private static async Task InsertAsync(HelixDataSource dataSource, int count)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        for (var i = 1; i <= count; i++)
        {
            await using var command = new HelixCommand($"INSERT INTO t VALUES ({i})", connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Makes the secondary's inserts, which only the replay runs now, wait until the returned gate is set.</summary>
    private static ManualResetEventSlim HoldReplayedInserts(FaultyStrands strands)
    {
        var gate = new ManualResetEventSlim();
        strands.Secondary.BeforeExecute(text =>
        {
            if (text.StartsWith("INSERT", StringComparison.Ordinal) && !gate.Wait(Wait.Default))
            {
                throw new TimeoutException("the test never opened the gate");
            }
        });
        return gate;
    }

    /// <summary>A queue whose opening fails when the test says so, as a durable queue's server that is gone.</summary>
    private sealed class OpeningQueue : HelixReplayQueue
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Fail { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask InitializeAsync(HelixReplayContext context, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Fail.Task;
            throw new IOException("can not connect");
        }

        public override long GetBacklog(HelixStrand strand) => 0;

        public override ValueTask EnqueueAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default) => default;

        public override ValueTask<IReadOnlyList<HelixReplayEntry>> ReadAsync(HelixStrand strand, int maxCount, CancellationToken cancellationToken = default) => new([]);

        public override ValueTask CompleteAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default) => default;

        public override ValueTask DeadLetterAsync(HelixReplayEntry entry, string reason, CancellationToken cancellationToken = default) => default;
    }
}
