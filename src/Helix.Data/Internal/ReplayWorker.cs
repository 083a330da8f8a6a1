using System.Data.Common;
using Helix.Data.Logging;
using Helix.Data.Replay;
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
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task[] _loops;

    public ReplayWorker(Strand[] strands, HelixReplayQueue? queue, HelixReplayOptions options, HelixErrorClassifier classifier, TimeProvider timeProvider, ILogger logger, DivergenceReporter reporter)
    {
        _strands = strands;
        _queue = queue;
        _options = options;
        _classifier = classifier;
        _timeProvider = timeProvider;
        _logger = logger;
        _reporter = reporter;
        _loops = [.. strands.Select(s => Task.Run(() => RunAsync(s, _stopping.Token)))];
    }

    public long Applied => Interlocked.Read(ref _applied);

    private long _applied;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }

        _stopping.Dispose();
    }

    private async Task RunAsync(Strand strand, CancellationToken stopping)
    {
        var backoff = new Backoff(_options.BackoffInitial, _options.BackoffMax);
        var controller = strand.Controller;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var state = controller.State;
                if (state is HelixStrandState.Healthy or HelixStrandState.Draining)
                {
                    await controller.WorkerSignal.WaitAsync(Timeout.InfiniteTimeSpan, _timeProvider, stopping).ConfigureAwait(false);
                    continue;
                }

                var delay = await CatchUpAsync(strand, backoff, stopping).ConfigureAwait(false);
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
                Log.ReplayWorkerError(_logger, e, strand.Name);
                await Task.Delay(backoff.Next(), _timeProvider, stopping).ConfigureAwait(false);
            }
        }
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

                // Writes still hold reservations: they signal when they have enqueued their entries.
                await controller.WorkerSignal.WaitAsync(_options.BackoffMax, _timeProvider, stopping).ConfigureAwait(false);
                continue;
            }

            // Fast path: the whole batch in one transaction, sent as one DbBatch where the provider batches. If a
            // statement fails, the transaction rolls it all back and the entries are applied one by one below, which
            // finds the one that fails.
            if (batch.Count > 1)
            {
                var started = _timeProvider.GetTimestamp();
                var error = await ApplyAsync(session, batch, transaction: true, stopping).ConfigureAwait(false);
                if (error is null)
                {
                    foreach (var entry in batch)
                    {
                        await _queue!.CompleteAsync(entry, stopping).ConfigureAwait(false);
                    }

                    RecordApplied(strand, batch.Count, _timeProvider.GetElapsedTime(started), backoff);
                    continue;
                }

                if (_classifier.Classify(error) == HelixErrorKind.StrandFault)
                {
                    return Retry(strand, backoff, error);
                }
            }

            foreach (var entry in batch)
            {
                if (controller.State == HelixStrandState.Draining)
                {
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
                    return Retry(strand, backoff, error);
                }

                entry.Attempts++;
                HelixMetrics.ReplayFailed.Add(1, HelixMetrics.Strand(strand.Name));
                Log.ReplayStatementError(_logger, entry.Id, strand.Name, entry.Attempts, _options.MaxAttempts, error.Message);
                if (entry.Attempts < _options.MaxAttempts)
                {
                    // The strand answered, so it is reachable; the entry may depend on something not there yet.
                    controller.ReportReachable();
                    return backoff.Next();
                }

                var reason = $"failed {entry.Attempts} times with a statement error; last: {error.GetType().Name}: {error.Message}";
                await _queue!.DeadLetterAsync(entry, reason, stopping).ConfigureAwait(false);
                _reporter.DeadLettered(strand, entry, reason);
                controller.ReportReachable();
            }
        }

        return null;
    }

    private void RecordApplied(Strand strand, int count, TimeSpan elapsed, Backoff backoff)
    {
        Interlocked.Add(ref _applied, count);
        HelixMetrics.ReplayApplied.Add(count, HelixMetrics.Strand(strand.Name));
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
        try
        {
            var connection = await session.OpenAsync(stopping).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = _options.ProbeCommandText ?? session.Strand.DefaultProbeCommandText;
            await command.ExecuteScalarAsync(stopping).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            await session.ResetAsync().ConfigureAwait(false);
            return e;
        }
    }

    /// <summary>Applies entries in order, in one transaction when asked; returns the error that stopped them, if any.</summary>
    private static async Task<Exception?> ApplyAsync(Session session, IReadOnlyList<HelixReplayEntry> entries, bool transaction, CancellationToken stopping)
    {
        DbTransaction? tx = null;
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
            if (tx is not null)
            {
                try
                {
                    await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // a rollback on a broken connection fails too; the original error is what matters
                catch (Exception)
#pragma warning restore CA1031
                {
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
