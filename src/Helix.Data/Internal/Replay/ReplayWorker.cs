using Helix.Data.Logging;
using Helix.Data.Replay;

namespace Helix.Data.Internal.Replay;

/// <summary>
/// Applies each strand's backlog to it, in order, in batches (contract section 7): once the queue is initialized, one
/// <see cref="StrandReplayLoop"/> per strand and, for queues that keep intents, an <see cref="IntentPromoter"/>, all on
/// the thread pool until the data source is disposed.
/// </summary>
internal sealed class ReplayWorker : IAsyncDisposable
{
    private readonly ReplayEnvironment _environment;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly BackgroundLoop _loop;

    public ReplayWorker(ReplayEnvironment environment, HelixReplayContext context)
    {
        _environment = environment;
        _loop = new BackgroundLoop(stopping => RunAsync(context, stopping));
    }

    /// <summary>Gets how many entries this process applied.</summary>
    public long Applied => _environment.Applied;

    /// <summary>Gets a task that completes when the queue is initialized and every strand's backlog is known.</summary>
    public Task Ready => _ready.Task;

    public async ValueTask DisposeAsync()
    {
        await _loop.DisposeAsync().ConfigureAwait(false);
        _ready.TrySetCanceled();
    }

    private async Task RunAsync(HelixReplayContext context, CancellationToken stopping)
    {
        if (_environment.Queue is { } queue)
        {
            await InitializeAsync(queue, context, stopping).ConfigureAwait(false);
        }

        _ready.TrySetResult();
        var loops = _environment.Strands.Select(s => Task.Run(() => new StrandReplayLoop(s, _environment).RunAsync(stopping), CancellationToken.None)).ToList();
        if (_environment.ApplyEntries && _environment.Queue is { SupportsIntents: true })
        {
            loops.Add(Task.Run(() => new IntentPromoter(_environment).RunAsync(stopping), CancellationToken.None));
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    /// <summary>Initializes the queue, retried with backoff until it answers; strands with entries in it are behind.</summary>
    private async Task InitializeAsync(HelixReplayQueue queue, HelixReplayContext context, CancellationToken stopping)
    {
        var backoff = new Backoff(_environment.Options.BackoffInitial, _environment.Options.BackoffMax);
        while (true)
        {
            try
            {
                await queue.InitializeAsync(context, stopping).ConfigureAwait(false);
                await _environment.ReportBacklogsAsync(stopping).ConfigureAwait(false);
                return;
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                // The data source is being disposed while the queue fails to open (its server is gone): its disposal
                // stops the attempt; the queue's error is not the caller's.
                throw new OperationCanceledException(stopping);
            }
            catch (Exception e)
            {
                var delay = backoff.Next();
                Log.ReplayQueueUnavailable(_environment.Logger, delay, Redactor.RedactUrls(e.Message));
                await Task.Delay(delay, _environment.TimeProvider, stopping).ConfigureAwait(false);
            }
        }
    }
}
