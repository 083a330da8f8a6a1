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

            var applied = 0;
            foreach (var entry in batch)
            {
                if (controller.State == HelixStrandState.Draining)
                {
                    return null;
                }

                var error = await ApplyAsync(session, entry, stopping).ConfigureAwait(false);
                if (error is null)
                {
                    await _queue!.CompleteAsync(entry, stopping).ConfigureAwait(false);
                    applied++;
                    Interlocked.Increment(ref _applied);
                    HelixMetrics.ReplayApplied.Add(1, HelixMetrics.Strand(strand.Name));
                    controller.ReportReachable();
                    backoff.Reset();
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

            Log.ReplayApplied(_logger, applied, strand.Name, _queue!.GetBacklog(strand.Id));
        }

        return null;
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

    private static async Task<Exception?> ApplyAsync(Session session, HelixReplayEntry entry, CancellationToken stopping)
    {
        DbTransaction? transaction = null;
        try
        {
            var connection = await session.OpenAsync(stopping).ConfigureAwait(false);
            if (entry.IsTransaction || entry.Statements.Count > 1)
            {
                transaction = await connection.BeginTransactionAsync(stopping).ConfigureAwait(false);
            }

            foreach (var statement in entry.Statements)
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

            if (transaction is not null)
            {
                await transaction.CommitAsync(stopping).ConfigureAwait(false);
            }

            return null;
        }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            if (transaction is not null)
            {
                try
                {
                    await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
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
            if (transaction is not null)
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
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
