using Helix.Data.Replay;

namespace Helix.Data.Internal.Replay;

/// <summary>
/// The worker's loop for one strand: what it does depends on the strand's state. It applies the backlog of a failed or
/// catching-up strand until it heals, probes a failed one with backoff, applies what other processes queued for a
/// healthy one (shared queues), and leaves a drained or out-of-sync strand alone.
/// </summary>
internal sealed class StrandReplayLoop(Strand strand, ReplayEnvironment environment)
{
    private readonly ReplayApplier _applier = new(environment);
    private readonly Backoff _backoff = new(environment.Options.BackoffInitial, environment.Options.BackoffMax);
    private readonly ReplayPace? _pace = environment.Options.Rate is { } rate ? new ReplayPace(rate, environment.TimeProvider) : null;

    private StrandController Controller => strand.Controller;

    private HelixReplayOptions Options => environment.Options;

    public Task RunAsync(CancellationToken stopping) =>
        BackgroundLoop.RepeatAsync(strand.Name, TurnAsync, _backoff.Next, environment.TimeProvider, environment.Logger, stopping);

    private async Task<TimeSpan?> TurnAsync(CancellationToken stopping) => Controller.State switch
    {
        HelixStrandState.Draining => await IdleAsync(Timeout.InfiniteTimeSpan, stopping).ConfigureAwait(false),
        HelixStrandState.OutOfSync => await OutOfServiceAsync(stopping).ConfigureAwait(false),
        HelixStrandState.Healthy when environment.ApplyEntries && environment.Queue is { IsShared: true } => await ApplySharedAsync(stopping).ConfigureAwait(false),
        HelixStrandState.Healthy => await IdleAsync(Timeout.InfiniteTimeSpan, stopping).ConfigureAwait(false),
        _ when !environment.ApplyEntries => await ObserveAsync(stopping).ConfigureAwait(false),
        _ => await CatchUpAsync(stopping).ConfigureAwait(false),
    };

    private async Task<TimeSpan?> IdleAsync(TimeSpan timeout, CancellationToken stopping)
    {
        await Controller.WorkerSignal.WaitAsync(timeout, environment.TimeProvider, stopping).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// A strand out of sync gets nothing applied; an in-process queue lets its backlog go at once (the resynchronisation
    /// copies everything it holds), so that a full queue frees its memory. A durable one keeps it until the resync begins.
    /// </summary>
    private async Task<TimeSpan?> OutOfServiceAsync(CancellationToken stopping)
    {
        if (environment.Queue is { IsDurable: false } queue)
        {
            try
            {
                await queue.DiscardBacklogAsync(strand.Id, stopping).ConfigureAwait(false);
            }
            catch (NotSupportedException)
            {
                // a queue of the application's that cannot: its entries wait for the resynchronisation
            }
        }

        return await IdleAsync(Timeout.InfiniteTimeSpan, stopping).ConfigureAwait(false);
    }

    /// <summary>A healthy strand of a shared queue: apply what other processes left for it.</summary>
    private async Task<TimeSpan?> ApplySharedAsync(CancellationToken stopping)
    {
        if (await ReadBatchAsync(stopping).ConfigureAwait(false) is not { } batch)
        {
            return null;
        }

        if (batch.Count == 0)
        {
            return await IdleAsync(Options.PollInterval, stopping).ConfigureAwait(false);
        }

        await using var session = new ReplaySession(strand);
        return await _applier.ApplyBatchAsync(session, batch, _backoff, stopping).ConfigureAwait(false);
    }

    /// <summary>Enqueue-only mode: probe a failed strand, and heal it once the replay service has emptied its backlog.</summary>
    private async Task<TimeSpan?> ObserveAsync(CancellationToken stopping)
    {
        if (Controller.State == HelixStrandState.Failed)
        {
            await using var session = new ReplaySession(strand);
            if (await session.ProbeAsync(Options.ProbeCommandText, stopping).ConfigureAwait(false) is { } fault)
            {
                return _applier.Retry(strand, _backoff, fault);
            }

            Controller.ReportReachable();
        }

        if ((environment.Queue is null || await environment.Queue.GetBacklogAsync(strand.Id, stopping).ConfigureAwait(false) == 0) && Controller.TryHeal())
        {
            _backoff.Reset();
            return null;
        }

        return await IdleAsync(Options.PollInterval, stopping).ConfigureAwait(false);
    }

    /// <summary>Works on a failed or catching-up strand until it is healthy, or returns the delay before the next try.</summary>
    private async Task<TimeSpan?> CatchUpAsync(CancellationToken stopping)
    {
        await using var session = new ReplaySession(strand);
        while (!stopping.IsCancellationRequested && Controller.State is HelixStrandState.Failed or HelixStrandState.CatchingUp)
        {
            IReadOnlyList<HelixReplayEntry>? batch = environment.Queue is null ? [] : await ReadBatchAsync(stopping).ConfigureAwait(false);
            if (batch is null)
            {
                continue; // waited for Replay Rate
            }

            var delay = batch.Count > 0
                ? await _applier.ApplyBatchAsync(session, batch, _backoff, stopping).ConfigureAwait(false)
                : await NothingToApplyAsync(session, stopping).ConfigureAwait(false);
            if (delay is not null || Controller.State == HelixStrandState.Healthy)
            {
                return delay;
            }
        }

        return null;
    }

    /// <summary>
    /// Reads the next batch of the strand's backlog: up to the batch size, or under <c>Replay Rate</c> what the rate
    /// allows now; <see langword="null"/> after waiting (on the data source's clock) until the rate allows an entry.
    /// </summary>
    private async Task<IReadOnlyList<HelixReplayEntry>?> ReadBatchAsync(CancellationToken stopping)
    {
        var size = _pace is null ? Options.BatchSize : _pace.Allowed(Options.BatchSize);
        if (size == 0)
        {
            await Task.Delay(_pace!.UntilNext(), environment.TimeProvider, stopping).ConfigureAwait(false);
            return null;
        }

        var batch = await environment.Queue!.ReadAsync(strand.Id, size, stopping).ConfigureAwait(false);
        _pace?.Spend(batch.Count);
        return batch;
    }

    /// <summary>
    /// The backlog is empty: a failed strand is probed, then the strand heals, unless it is deferred (probed for the write
    /// strategy) or writes still hold reservations (it waits for them to enqueue).
    /// </summary>
    private async Task<TimeSpan?> NothingToApplyAsync(ReplaySession session, CancellationToken stopping)
    {
        if (Controller.State == HelixStrandState.Failed)
        {
            if (await session.ProbeAsync(Options.ProbeCommandText, stopping).ConfigureAwait(false) is { } fault)
            {
                return _applier.Retry(strand, _backoff, fault);
            }

            Controller.ReportReachable();
        }

        if (Controller.TryHeal())
        {
            _backoff.Reset();
            return null;
        }

        if (Controller.IsDeferred)
        {
            // Nothing to apply to a deferred strand: probe it, so the write strategy sees when it is fast again.
            var started = environment.TimeProvider.GetTimestamp();
            if (await session.ProbeAsync(Options.ProbeCommandText, stopping).ConfigureAwait(false) is { } fault)
            {
                return _applier.Retry(strand, _backoff, fault);
            }

            environment.WriteStrategy.OnReplayApplied(strand.Id, 0, environment.TimeProvider.GetElapsedTime(started), environment.Control);
            if (Controller.IsDeferred)
            {
                await Controller.WorkerSignal.WaitAsync(Options.PollInterval, environment.TimeProvider, stopping).ConfigureAwait(false);
            }

            return null;
        }

        // Writes still hold reservations: they signal when they have enqueued their entries.
        await Controller.WorkerSignal.WaitAsync(environment.Queue is { IsShared: true } ? Options.PollInterval : Options.BackoffMax, environment.TimeProvider, stopping).ConfigureAwait(false);
        return null;
    }
}
