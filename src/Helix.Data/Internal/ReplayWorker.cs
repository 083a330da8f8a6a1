using System.Data.Common;
using Helix.Data.Logging;
using Helix.Data.Replay;
using Helix.Data.Strategies;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal;

/// <summary>
/// Applies each strand's backlog to it, in order, in batches (contract section 7). It probes failed strands with
/// backoff and jitter; a strand fault never counts as an attempt. Statement errors count, and an entry that uses up its
/// attempts is dead-lettered and reported. When a backlog is empty the strand is healed.
/// </summary>
internal sealed class ReplayWorker : IAsyncDisposable
{
    private readonly Strand[] _strands;
    private readonly HelixReplayQueue? _queue;
    private readonly HelixReplayOptions _options;
    private readonly HelixErrorClassifier _classifier;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly DivergenceReporter _reporter;
    private readonly bool _applyEntries;
    private readonly IHelixWriteStrategy _writeStrategy;
    private readonly IHelixWriteControl _control;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _run;
    private long _applied;

    // applyEntries: whether this process applies entries. Without (Replay Worker=false) it only probes failed strands
    // and heals them once another process (the replay service) has emptied their backlog in the shared queue.
    public ReplayWorker(Strand[] strands, HelixReplayQueue? queue, HelixReplayContext context, HelixReplayOptions options, HelixErrorClassifier classifier, TimeProvider timeProvider, ILogger logger, DivergenceReporter reporter, bool applyEntries, IHelixWriteStrategy writeStrategy, IHelixWriteControl control)
    {
        _writeStrategy = writeStrategy;
        _control = control;
        _strands = strands;
        _queue = queue;
        _options = options;
        _classifier = classifier;
        _timeProvider = timeProvider;
        _logger = logger;
        _reporter = reporter;
        _applyEntries = applyEntries;
        _run = Task.Run(() => RunAsync(context, _stopping.Token));
    }

    public long Applied => Interlocked.Read(ref _applied);

    /// <summary>Gets a task that completes when the queue is initialized and every strand's backlog is known.</summary>
    public Task Ready => _ready.Task;

    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _run.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }

        _ready.TrySetCanceled();
        _stopping.Dispose();
    }

    private async Task RunAsync(HelixReplayContext context, CancellationToken stopping)
    {
        if (_queue is not null)
        {
            var backoff = new Backoff(_options.BackoffInitial, _options.BackoffMax);
            while (true)
            {
                try
                {
                    await _queue.InitializeAsync(context, stopping).ConfigureAwait(false);
                    foreach (var strand in _strands)
                    {
                        // Entries left by a process that ended (or by other processes of a fleet): the strand is behind.
                        if (await _queue.GetBacklogAsync(strand.Id, stopping).ConfigureAwait(false) > 0)
                        {
                            strand.Controller.ReportBehind();
                        }
                    }

                    break;
                }
                catch (Exception e) when (!stopping.IsCancellationRequested)
                {
                    var delay = backoff.Next();
                    Log.ReplayQueueUnavailable(_logger, delay, Redactor.RedactUrls(e.Message));
                    await Task.Delay(delay, _timeProvider, stopping).ConfigureAwait(false);
                }
            }
        }

        _ready.TrySetResult();
        var loops = _strands.Select(s => Task.Run(() => RunAsync(s, stopping), CancellationToken.None)).ToList();
        if (_applyEntries && _queue is { SupportsIntents: true })
        {
            loops.Add(Task.Run(() => PromoteIntentsAsync(stopping), CancellationToken.None));
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    /// <summary>Brings writes that a process left in doubt when it died (its intents grew old) to every strand.</summary>
    private async Task PromoteIntentsAsync(CancellationToken stopping)
    {
        var interval = TimeSpan.FromTicks(Math.Max(_options.PollInterval.Ticks, _options.InDoubtTimeout.Ticks / 4));
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var promoted = await _queue!.PromoteAbandonedIntentsAsync(_timeProvider.GetUtcNow() - _options.InDoubtTimeout, stopping).ConfigureAwait(false);
                if (promoted > 0)
                {
                    Log.IntentsPromoted(_logger, promoted);
                    foreach (var strand in _strands)
                    {
                        if (await _queue.GetBacklogAsync(strand.Id, stopping).ConfigureAwait(false) > 0)
                        {
                            strand.Controller.ReportBehind();
                        }
                    }
                }

                await Task.Delay(interval, _timeProvider, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // promotion is retried at the next interval
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.ReplayWorkerError(_logger, Redactor.SafeToLog(e), "intents");
                await Task.Delay(interval, _timeProvider, stopping).ConfigureAwait(false);
            }
        }
    }

    private async Task RunAsync(Strand strand, CancellationToken stopping)
    {
        var backoff = new Backoff(_options.BackoffInitial, _options.BackoffMax);
        var controller = strand.Controller;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                TimeSpan? delay = controller.State switch
                {
                    HelixStrandState.Draining => await IdleAsync(controller, Timeout.InfiniteTimeSpan, stopping).ConfigureAwait(false),
                    HelixStrandState.OutOfSync => await OutOfServiceAsync(strand, stopping).ConfigureAwait(false),
                    HelixStrandState.Healthy when _applyEntries && _queue is { IsShared: true } => await ApplySharedAsync(strand, backoff, stopping).ConfigureAwait(false),
                    HelixStrandState.Healthy => await IdleAsync(controller, Timeout.InfiniteTimeSpan, stopping).ConfigureAwait(false),
                    _ when !_applyEntries => await ObserveAsync(strand, backoff, stopping).ConfigureAwait(false),
                    _ => await CatchUpAsync(strand, backoff, stopping).ConfigureAwait(false),
                };
                if (delay is { } wait)
                {
                    await Task.Delay(wait, _timeProvider, stopping).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // the worker must outlive any single bad entry or bug; it logs and goes on
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.ReplayWorkerError(_logger, Redactor.SafeToLog(e), strand.Name);
                await Task.Delay(backoff.Next(), _timeProvider, stopping).ConfigureAwait(false);
            }
        }
    }

    private async Task<TimeSpan?> IdleAsync(StrandController controller, TimeSpan timeout, CancellationToken stopping)
    {
        await controller.WorkerSignal.WaitAsync(timeout, _timeProvider, stopping).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// A strand out of sync gets nothing applied; an in-process queue lets its backlog go at once (the resynchronisation
    /// copies everything it holds), so that a full queue frees its memory. A durable one keeps it until the resync begins.
    /// </summary>
    private async Task<TimeSpan?> OutOfServiceAsync(Strand strand, CancellationToken stopping)
    {
        if (_queue is { IsDurable: false } queue)
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

        return await IdleAsync(strand.Controller, Timeout.InfiniteTimeSpan, stopping).ConfigureAwait(false);
    }

    /// <summary>A healthy strand of a shared queue: apply what other processes left for it.</summary>
    private async Task<TimeSpan?> ApplySharedAsync(Strand strand, Backoff backoff, CancellationToken stopping)
    {
        var batch = await _queue!.ReadAsync(strand.Id, _options.BatchSize, stopping).ConfigureAwait(false);
        if (batch.Count == 0)
        {
            return await IdleAsync(strand.Controller, _options.PollInterval, stopping).ConfigureAwait(false);
        }

        await using var session = new Session(strand);
        return await ApplyBatchAsync(strand, session, batch, backoff, stopping).ConfigureAwait(false);
    }

    /// <summary>Enqueue-only mode: probe a failed strand, and heal it once the replay service has emptied its backlog.</summary>
    private async Task<TimeSpan?> ObserveAsync(Strand strand, Backoff backoff, CancellationToken stopping)
    {
        var controller = strand.Controller;
        if (controller.State == HelixStrandState.Failed)
        {
            await using var session = new Session(strand);
            if (await ProbeAsync(session, stopping).ConfigureAwait(false) is { } fault)
            {
                return Retry(strand, backoff, fault);
            }

            controller.ReportReachable();
        }

        if (_queue is null || await _queue.GetBacklogAsync(strand.Id, stopping).ConfigureAwait(false) == 0)
        {
            if (controller.TryHeal())
            {
                backoff.Reset();
                return null;
            }
        }

        return await IdleAsync(controller, _options.PollInterval, stopping).ConfigureAwait(false);
    }

    /// <summary>Works on a failed or catching-up strand until it is healthy, or returns the delay before the next try.</summary>
    private async Task<TimeSpan?> CatchUpAsync(Strand strand, Backoff backoff, CancellationToken stopping)
    {
        var controller = strand.Controller;
        await using var session = new Session(strand);
        while (!stopping.IsCancellationRequested)
        {
            if (controller.State is HelixStrandState.Healthy or HelixStrandState.Draining)
            {
                return null;
            }

            var batch = _queue is null ? [] : await _queue.ReadAsync(strand.Id, _options.BatchSize, stopping).ConfigureAwait(false);
            if (batch.Count == 0)
            {
                if (controller.State == HelixStrandState.Failed)
                {
                    var fault = await ProbeAsync(session, stopping).ConfigureAwait(false);
                    if (fault is not null)
                    {
                        return Retry(strand, backoff, fault);
                    }

                    controller.ReportReachable();
                }

                if (controller.TryHeal())
                {
                    backoff.Reset();
                    return null;
                }

                if (controller.IsDeferred)
                {
                    // Nothing to apply to a deferred strand: probe it, so the write strategy sees when it is fast again.
                    var started = _timeProvider.GetTimestamp();
                    var connection = await session.OpenAsync(stopping).ConfigureAwait(false);
                    if (await StrandProbe.RunAsync(connection, strand, _options.ProbeCommandText, stopping).ConfigureAwait(false) is { } probeFault)
                    {
                        await session.ResetAsync().ConfigureAwait(false);
                        return Retry(strand, backoff, probeFault);
                    }

                    _writeStrategy.OnReplayApplied(strand.Id, 0, _timeProvider.GetElapsedTime(started), _control);
                    if (controller.IsDeferred)
                    {
                        await controller.WorkerSignal.WaitAsync(_options.PollInterval, _timeProvider, stopping).ConfigureAwait(false);
                    }

                    continue;
                }

                // Writes still hold reservations: they signal when they have enqueued their entries.
                await controller.WorkerSignal.WaitAsync(_queue is { IsShared: true } ? _options.PollInterval : _options.BackoffMax, _timeProvider, stopping).ConfigureAwait(false);
                continue;
            }

            if (await ApplyBatchAsync(strand, session, batch, backoff, stopping).ConfigureAwait(false) is { } delay)
            {
                return delay;
            }
        }

        return null;
    }

    /// <summary>
    /// Applies a batch in order: all in one transaction (one DbBatch round trip where the provider batches), or, when a
    /// statement in it fails, one by one to find the entry that fails. Returns a delay when the worker must stop and
    /// wait (a strand fault, or an entry to retry); the entries not applied are given back to the queue.
    /// </summary>
    private async Task<TimeSpan?> ApplyBatchAsync(Strand strand, Session session, IReadOnlyList<HelixReplayEntry> batch, Backoff backoff, CancellationToken stopping)
    {
        var controller = strand.Controller;
        if (batch.Count > 1)
        {
            var started = _timeProvider.GetTimestamp();
            var error = await ApplyAsync(session, batch, transaction: true, stopping).ConfigureAwait(false);
            if (error is null)
            {
                await _queue!.CompleteAsync(batch, stopping).ConfigureAwait(false);
                RecordApplied(strand, batch.Count, _timeProvider.GetElapsedTime(started), backoff);
                return null;
            }

            if (_classifier.Classify(error) == HelixErrorKind.StrandFault)
            {
                await _queue!.ReleaseAsync(batch, stopping).ConfigureAwait(false);
                return Retry(strand, backoff, error);
            }
        }

        for (var i = 0; i < batch.Count; i++)
        {
            var entry = batch[i];
            if (controller.State == HelixStrandState.Draining)
            {
                await _queue!.ReleaseAsync([.. batch.Skip(i)], stopping).ConfigureAwait(false);
                return null;
            }

            var started = _timeProvider.GetTimestamp();
            var error = await ApplyAsync(session, [entry], entry.IsTransaction || entry.Statements.Count > 1, stopping).ConfigureAwait(false);
            if (error is null)
            {
                await _queue!.CompleteAsync(entry, stopping).ConfigureAwait(false);
                RecordApplied(strand, 1, _timeProvider.GetElapsedTime(started), backoff);
                continue;
            }

            if (_classifier.Classify(error) == HelixErrorKind.StrandFault)
            {
                await _queue!.ReleaseAsync([.. batch.Skip(i)], stopping).ConfigureAwait(false);
                return Retry(strand, backoff, error);
            }

            entry.Attempts++;
            HelixMetrics.ReplayFailed.Add(1, strand.MetricTags);
            Log.ReplayStatementError(_logger, entry.Id, strand.Name, entry.Attempts, _options.MaxAttempts, error.Message);
            if (entry.Attempts < _options.MaxAttempts)
            {
                // The strand answered, so it is reachable; the entry may depend on something not there yet.
                await _queue!.ReleaseAsync([.. batch.Skip(i)], stopping).ConfigureAwait(false);
                controller.ReportReachable();
                return backoff.Next();
            }

            var reason = $"failed {entry.Attempts} times with a statement error; last: {error.GetType().Name}: {error.Message}";
            await _queue!.DeadLetterAsync(entry, reason, stopping).ConfigureAwait(false);
            _reporter.DeadLettered(strand, entry, reason);
            controller.ReportReachable();
        }

        return null;
    }

    private void RecordApplied(Strand strand, int count, TimeSpan elapsed, Backoff backoff)
    {
        Interlocked.Add(ref _applied, count);
        HelixMetrics.ReplayApplied.Add(count, strand.MetricTags);
        HelixMetrics.ReplayDuration.Record(elapsed.TotalSeconds, strand.MetricTags);
        _writeStrategy.OnReplayApplied(strand.Id, count, elapsed, _control);
        strand.Controller.ReportReachable();
        backoff.Reset();
        var rate = strand.Controller.ReportApplied(count, elapsed);
        var backlog = _queue!.GetBacklog(strand.Id);
        Log.ReplayApplied(_logger, count, strand.Name, backlog);

        // Once the rest of the backlog takes less than half the healing wait to apply, new writes wait for the strand
        // instead of joining the backlog, and it heals.
        if (backlog <= Math.Max(_options.BatchSize, rate * _options.HealingWait.TotalSeconds / 2))
        {
            strand.Controller.BeginHealing();
        }
    }

    private TimeSpan Retry(Strand strand, Backoff backoff, Exception fault)
    {
        strand.Controller.ReportFault(fault);
        var delay = backoff.Next();
        Log.ReplayProbeFailed(_logger, strand.Name, delay, fault.Message);
        return delay;
    }

    private async Task<Exception?> ProbeAsync(Session session, CancellationToken stopping)
    {
        Exception? fault;
        try
        {
            var connection = await session.OpenAsync(stopping).ConfigureAwait(false);
            fault = await StrandProbe.RunAsync(connection, session.Strand, _options.ProbeCommandText, stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            fault = e;
        }

        if (fault is not null)
        {
            await session.ResetAsync().ConfigureAwait(false);
        }

        return fault;
    }

    /// <summary>Applies entries in order, in one transaction when asked; returns the error that stopped them, if any.</summary>
    private async Task<Exception?> ApplyAsync(Session session, IReadOnlyList<HelixReplayEntry> entries, bool transaction, CancellationToken stopping)
    {
        DbTransaction? tx = null;
        using var activity = HelixActivities.StartReplay(session.Strand, entries.Count);
        try
        {
            var connection = await session.OpenAsync(stopping).ConfigureAwait(false);
            if (transaction)
            {
                tx = await connection.BeginTransactionAsync(stopping).ConfigureAwait(false);
            }

            if (connection.CanCreateBatch && entries.Sum(e => e.Statements.Count) > 1)
            {
                await ExecuteAsBatchAsync(connection, tx, entries, stopping).ConfigureAwait(false);
            }
            else
            {
                foreach (var statement in entries.SelectMany(e => e.Statements))
                {
                    await ExecuteAsync(connection, tx, statement, stopping).ConfigureAwait(false);
                }
            }

            if (tx is not null)
            {
                await tx.CommitAsync(stopping).ConfigureAwait(false);
            }

            return null;
        }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            HelixActivities.Fail(activity, e);
            if (tx is not null)
            {
                try
                {
                    await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // a rollback on a broken connection fails too; the original error is what matters
                catch (Exception rollback)
#pragma warning restore CA1031
                {
                    Log.RollbackFailed(_logger, rollback, session.Strand.Name);
                }
            }

            await session.ResetAsync().ConfigureAwait(false);
            return e;
        }
        finally
        {
            if (tx is not null)
            {
                await tx.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, HelixReplayStatement statement, CancellationToken stopping)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = statement.CommandText;
        command.CommandType = statement.CommandType;
        if (statement.CommandTimeout is { } timeout)
        {
            command.CommandTimeout = timeout;
        }

        foreach (var parameter in statement.Parameters)
        {
            command.Parameters.Add(parameter);
        }

        try
        {
            await command.ExecuteNonQueryAsync(stopping).ConfigureAwait(false);
        }
        finally
        {
            command.Parameters.Clear(); // the entry's parameters are applied again if this attempt fails
        }
    }

    /// <summary>Sends every statement in one round trip, in order.</summary>
    private static async Task ExecuteAsBatchAsync(DbConnection connection, DbTransaction? transaction, IReadOnlyList<HelixReplayEntry> entries, CancellationToken stopping)
    {
        await using var batch = connection.CreateBatch();
        batch.Transaction = transaction;
        int? timeout = null;
        foreach (var statement in entries.SelectMany(e => e.Statements))
        {
            var command = batch.CreateBatchCommand();
            command.CommandText = statement.CommandText;
            command.CommandType = statement.CommandType;
            foreach (var parameter in statement.Parameters)
            {
                command.Parameters.Add(parameter);
            }

            batch.BatchCommands.Add(command);

            // The batch gets the most generous timeout of its statements (0, no limit, is the most generous).
            timeout = statement.CommandTimeout switch
            {
                null => timeout,
                0 => 0,
                { } t => timeout == 0 ? 0 : Math.Max(timeout ?? 0, t),
            };
        }

        if (timeout is { } limit)
        {
            batch.Timeout = limit;
        }

        try
        {
            await batch.ExecuteNonQueryAsync(stopping).ConfigureAwait(false);
        }
        finally
        {
            foreach (DbBatchCommand command in batch.BatchCommands)
            {
                command.Parameters.Clear();
            }
        }
    }

    /// <summary>One pooled inner connection, opened on first use and dropped after any error.</summary>
    private sealed class Session(Strand strand) : IAsyncDisposable
    {
        private DbConnection? _connection;

        public Strand Strand { get; } = strand;

        public async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
        {
            if (_connection is null)
            {
                _connection = Strand.DataSource.CreateConnection();
                await _connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            }

            return _connection;
        }

        public async ValueTask ResetAsync()
        {
            if (_connection is not null)
            {
                await _connection.DisposeAsync().ConfigureAwait(false);
                _connection = null;
            }
        }

        public ValueTask DisposeAsync() => ResetAsync();
    }
}
