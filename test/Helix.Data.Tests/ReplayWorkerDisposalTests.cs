using Helix.Data.Replay;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>Disposing a data source while its replay queue fails to open.</summary>
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
