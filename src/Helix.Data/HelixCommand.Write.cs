using System.Data;
using System.Data.Common;
using System.Runtime.ExceptionServices;
using Helix.Data.Internal;
using Helix.Data.Logging;
using Helix.Data.Replay;

namespace Helix.Data;

/// <content>Writes (contract section 5): routing per strand, execution by the write strategy, and the outcome table.</content>
public sealed partial class HelixCommand
{
    private async ValueTask<object?> ExecuteWriteAsync(HelixConnection connection, HelixDataSource dataSource, Operation operation, CommandBehavior behavior, SqlTextInfo text, IOBehavior io, CancellationToken cancellationToken)
    {
        var strands = dataSource.Strands;
        var queue = dataSource.Configuration.ReplayQueue;
        var timestamp = dataSource.Timestamps.Next();
        var routes = await RouteWriteAsync(dataSource, io, cancellationToken).ConfigureAwait(false);

        // Entries for strands that are behind are made (and checked by the queue) before anything runs, so a write the
        // queue could not store is rejected with nothing written.
        var entries = new HelixReplayEntry?[strands.Length];
        try
        {
            for (var i = 0; i < strands.Length; i++)
            {
                if (routes[i] == WriteRoute.Queue)
                {
                    entries[i] = BuildEntry(dataSource, strands[i], text, timestamp, error: null);
                    queue!.Validate(entries[i]!);
                }
            }
        }
        catch
        {
            EndReservations(strands, routes);
            throw;
        }

        var results = new StrandResult?[strands.Length];
        var firstDirect = Array.IndexOf(routes, WriteRoute.Direct);
        if (io == IOBehavior.Asynchronous && dataSource.Configuration.WriteStrategy == HelixWriteStrategy.Concurrent && routes.All(r => r == WriteRoute.Direct))
        {
            // Each ValueTask is awaited exactly once, below; storing them is what lets the strands run concurrently.
#pragma warning disable CA2012
            var running = new ValueTask<StrandResult>[strands.Length];
            for (var i = 0; i < strands.Length; i++)
            {
                running[i] = RunOnStrandAsync(connection, strands[i], operation, behavior, i == firstDirect, text, timestamp, io, cancellationToken);
            }

            for (var i = 0; i < strands.Length; i++)
            {
                results[i] = await running[i].ConfigureAwait(false);
            }
#pragma warning restore CA2012
        }
        else
        {
            for (var i = 0; i < strands.Length; i++)
            {
                if (routes[i] == WriteRoute.Direct)
                {
                    results[i] = await RunOnStrandAsync(connection, strands[i], operation, behavior, i == firstDirect, text, timestamp, io, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        var winner = Array.FindIndex(results, r => r is { Succeeded: true });
        if (winner < 0)
        {
            EndReservations(strands, routes);
            throw WriteFailed(dataSource, results);
        }

        var winning = results[winner]!.Value;
        HelixMetrics.Writes.Add(1, HelixMetrics.Strand(winning.Strand.Name));
        int? otherRows = null;
        Strand? comparedStrand = null;
        for (var i = 0; i < strands.Length; i++)
        {
            if (i == winner)
            {
                continue;
            }

            var strand = strands[i];
            switch (routes[i])
            {
                case WriteRoute.Direct:
                    var result = results[i]!.Value;
                    if (result.Succeeded)
                    {
                        HelixMetrics.Writes.Add(1, HelixMetrics.Strand(strand.Name));
                        var (rows, drainError) = await SettleOtherResultAsync(result, io).ConfigureAwait(false);
                        if (drainError is not null)
                        {
                            await MissedAsync(dataSource, strand, text, timestamp, drainError, isFault: true, io).ConfigureAwait(false);
                        }
                        else if (operation == Operation.NonQuery && rows != (int)winning.Value!)
                        {
                            dataSource.Reporter.RowsAffectedDiffer(strand, _commandText, (int)winning.Value!, rows);
                        }
                        else if (operation == Operation.Reader)
                        {
                            (otherRows, comparedStrand) = (rows, strand);
                        }
                    }
                    else if (result.Kind == HelixErrorKind.StatementError && !result.Cancelled)
                    {
                        var entry = BuildEntry(dataSource, strand, text, timestamp, result.Error);
                        if (queue is not null)
                        {
                            await DeadLetterAsync(queue, entry, "refused with a statement error while another strand applied the write", io).ConfigureAwait(false);
                        }

                        dataSource.Reporter.StatementRejected(strand, _commandText, result.Error!, entry);
                    }
                    else
                    {
                        await MissedAsync(dataSource, strand, text, timestamp, result.Error!, isFault: !result.Cancelled, io).ConfigureAwait(false);
                    }

                    break;
                case WriteRoute.Queue:
                    await EnqueueAsync(dataSource, strand, entries[i]!, io).ConfigureAwait(false);
                    break;
                case WriteRoute.Full:
                    dataSource.Reporter.Dropped(strand, _commandText, $"the replay queue is full ({queue!.Capacity} entries) and Replay Full=Drop", null);
                    break;
                case WriteRoute.Lost:
                    dataSource.Reporter.Dropped(strand, _commandText, "Replay=None", null, quiet: true);
                    break;
            }
        }

        Action<HelixDataReader>? onClose = comparedStrand is null ? null : reader =>
        {
            if (reader.RecordsAffected != otherRows)
            {
                dataSource.Reporter.RowsAffectedDiffer(comparedStrand, _commandText, reader.RecordsAffected, otherRows!.Value);
            }
        };
        return Finish(winning, onClose, isRead: false);
    }

    /// <summary>
    /// Routes the write on every strand; waits while no strand can take it directly, up to the command timeout; then
    /// holds the write back as long as flow control asks for a strand that is catching up.
    /// </summary>
    private async ValueTask<WriteRoute[]> RouteWriteAsync(HelixDataSource dataSource, IOBehavior io, CancellationToken cancellationToken)
    {
        var strands = dataSource.Strands;
        var routes = new WriteRoute[strands.Length];
        var started = dataSource.TimeProvider.GetTimestamp();
        var timeout = CommandTimeout == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(CommandTimeout);
        var changes = new Task[strands.Length];
        var bypassHealing = false;
        TimeSpan admissionDelay;
        while (true)
        {
            admissionDelay = TimeSpan.Zero;
            for (var i = 0; i < strands.Length; i++)
            {
                routes[i] = strands[i].Controller.BeginWrite(out changes[i], out var delay, bypassHealing);
                admissionDelay = delay > admissionDelay ? delay : admissionDelay;
            }

            if (!routes.Contains(WriteRoute.Wait) && routes.Contains(WriteRoute.Direct))
            {
                break;
            }

            // Either a strand is about to become healthy (wait for it, so no new write overtakes its backlog), or no
            // strand is healthy: acknowledged means applied, so wait for one to catch up.
            EndReservations(strands, routes);
            if (strands.All(s => s.State == HelixStrandState.Draining))
            {
                throw new HelixException("No strand can take writes: every strand is drained by an operator. Undrain one.", null, null, isTransient: true);
            }

            var remaining = timeout == Timeout.InfiniteTimeSpan ? timeout : timeout - dataSource.TimeProvider.GetElapsedTime(started);
            if (remaining != Timeout.InfiniteTimeSpan && remaining <= TimeSpan.Zero)
            {
                throw NoWritableStrand(dataSource, timeout);
            }

            var healing = routes.Contains(WriteRoute.Wait);
            var healingWait = dataSource.Configuration.ReplayOptions.HealingWait;
            var budget = healing && (remaining == Timeout.InfiniteTimeSpan || healingWait < remaining) ? healingWait : remaining;
            if (!await dataSource.WaitForStateChangeAsync(changes, io, budget, cancellationToken).ConfigureAwait(false))
            {
                if (!healing)
                {
                    throw NoWritableStrand(dataSource, timeout);
                }

                bypassHealing = true; // the strand is taking long to heal: queue behind it rather than keep the caller waiting
            }
        }

        if (dataSource.Configuration.ReplayFull == HelixReplayFullPolicy.Reject && Array.IndexOf(routes, WriteRoute.Full) is var full and >= 0)
        {
            EndReservations(strands, routes);
            var reason = $"the replay queue of strand {strands[full].Name} is full ({dataSource.Configuration.ReplayQueue!.Capacity} entries) while the strand is {strands[full].State}";
            Log.WriteRejected(dataSource.Logger, reason);
            throw new HelixException(
                $"The write was rejected before it ran: {reason}. Nothing was written. Bring the strand back, raise 'Replay Capacity', or set 'Replay Full=Drop' to accept writes that the strand will miss.",
                null,
                null,
                isTransient: true);
        }

        if (admissionDelay > TimeSpan.Zero)
        {
            try
            {
                await HoldBackAsync(dataSource, admissionDelay, io, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                EndReservations(strands, routes);
                throw;
            }
        }

        return routes;
    }

    private static async ValueTask HoldBackAsync(HelixDataSource dataSource, TimeSpan delay, IOBehavior io, CancellationToken cancellationToken)
    {
        var cap = dataSource.Configuration.ReplayOptions.HealingWait;
        var wait = Task.Delay(delay < cap ? delay : cap, dataSource.TimeProvider, cancellationToken);
        if (io == IOBehavior.Synchronous)
        {
            wait.GetAwaiter().GetResult(); // a synchronous caller waits on the calling thread, as it would for I/O
        }
        else
        {
            await wait.ConfigureAwait(false);
        }
    }

    private static void EndReservations(Strand[] strands, WriteRoute[] routes)
    {
        for (var i = 0; i < strands.Length; i++)
        {
            if (routes[i] == WriteRoute.Queue)
            {
                strands[i].Controller.EndReservation();
                routes[i] = WriteRoute.Lost;
            }
        }
    }

    /// <summary>A direct write that another strand applied did not reach this strand: queue it for replay.</summary>
    private async ValueTask MissedAsync(HelixDataSource dataSource, Strand strand, SqlTextInfo text, long timestamp, Exception error, bool isFault, IOBehavior io)
    {
        switch (strand.Controller.MissedWrite(error, isFault))
        {
            case WriteRoute.Queue:
                await EnqueueAsync(dataSource, strand, BuildEntry(dataSource, strand, text, timestamp, error), io).ConfigureAwait(false);
                break;
            case WriteRoute.Full:
                dataSource.Reporter.Dropped(strand, _commandText, $"the strand missed the write ({error.Message}) and its replay queue is full", null);
                break;
            default:
                dataSource.Reporter.Dropped(strand, _commandText, "Replay=None", null, quiet: true);
                break;
        }
    }

    /// <summary>Enqueues an entry for which a reservation is held, and ends the reservation.</summary>
    private async ValueTask EnqueueAsync(HelixDataSource dataSource, Strand strand, HelixReplayEntry entry, IOBehavior io)
    {
        var queue = dataSource.Configuration.ReplayQueue!;
        try
        {
            if (io == IOBehavior.Synchronous)
            {
                queue.Enqueue(entry);
            }
            else
            {
                await queue.EnqueueAsync(entry, CancellationToken.None).ConfigureAwait(false);
            }

            HelixMetrics.ReplayEnqueued.Add(1, HelixMetrics.Strand(strand.Name));
        }
#pragma warning disable CA1031 // the write is applied on another strand: the caller gets its result, the loss is reported
        catch (Exception e)
#pragma warning restore CA1031
        {
            dataSource.Reporter.Dropped(strand, _commandText, $"the replay queue could not store the entry: {e.Message}", entry);
        }
        finally
        {
            strand.Controller.EndReservation();
        }
    }

    private static async ValueTask DeadLetterAsync(HelixReplayQueue queue, HelixReplayEntry entry, string reason, IOBehavior io)
    {
        var task = queue.DeadLetterAsync(entry, reason, CancellationToken.None);
        if (io == IOBehavior.Synchronous && !task.IsCompleted)
        {
            // A durable queue may need I/O here; the synchronous caller has no other way to wait for it.
            task.AsTask().GetAwaiter().GetResult();
            return;
        }

        await task.ConfigureAwait(false);
    }

    /// <summary>
    /// Settles the result of a strand whose result the caller does not get: a reader is read to its end (so that the
    /// write completes) and closed. Returns the rows it reports, or the error that stopped it.
    /// </summary>
    private async ValueTask<(int Rows, Exception? Error)> SettleOtherResultAsync(StrandResult result, IOBehavior io)
    {
        if (result.Value is not DbDataReader reader)
        {
            return (result.Value is int rows ? rows : -1, null);
        }

        try
        {
            if (io == IOBehavior.Synchronous)
            {
                do
                {
                    while (reader.Read())
                    {
                    }
                }
                while (reader.NextResult());
                reader.Dispose();
            }
            else
            {
                do
                {
                    while (await reader.ReadAsync().ConfigureAwait(false))
                    {
                    }
                }
                while (await reader.NextResultAsync().ConfigureAwait(false));
                await reader.DisposeAsync().ConfigureAwait(false);
            }

            return (reader.RecordsAffected, null);
        }
#pragma warning disable CA1031 // the other strand's error becomes a replay entry, not the caller's error
        catch (Exception e)
#pragma warning restore CA1031
        {
            return (-1, e);
        }
        finally
        {
            ReleaseQuietly(result.Command, result.Detach);
        }
    }

    private HelixReplayEntry BuildEntry(HelixDataSource dataSource, Strand strand, SqlTextInfo text, long timestamp, Exception? error)
    {
        var parameters = new List<DbParameter>(_parameters.Count + 1);
        foreach (var parameter in _parameters.Items)
        {
            parameters.Add(ParameterCopier.CopyFor(parameter, strand.Factory, ownValue: true));
        }

        if (TimestampParameter(strand, text, timestamp) is { } stamp)
        {
            parameters.Add(stamp);
        }

        var now = dataSource.TimeProvider.GetUtcNow();
        return new HelixReplayEntry(
            Guid.CreateVersion7(now),
            strand.Id,
            timestamp,
            now,
            HelixReplayPriority.High,
            [new HelixReplayStatement(_commandText, _commandType, parameters, _commandTimeout)],
            isTransaction: false,
            error is null ? null : $"{error.GetType().Name}: {error.Message}");
    }

    /// <summary>The exception for a write no strand applied: a statement error unchanged, else a <see cref="HelixException"/>.</summary>
    private static HelixException WriteFailed(HelixDataSource dataSource, StrandResult?[] results)
    {
        foreach (var result in results)
        {
            if (result is { Succeeded: false } failed && failed.Kind == HelixErrorKind.StrandFault && !failed.Cancelled)
            {
                failed.Strand.Controller.ReportFault(failed.Error!);
            }
        }

        // The strands answered and refused the statement (or the caller cancelled): the provider's own exception.
        foreach (var result in results)
        {
            if (result is { } failed && (failed.Kind == HelixErrorKind.StatementError || failed.Cancelled))
            {
                ExceptionDispatchInfo.Capture(failed.Error!).Throw();
            }
        }

        var primary = results[0]?.Error;
        var secondary = results.Length > 1 ? results[1]?.Error : null;
        var describe = string.Join(" ", dataSource.Strands.Select(s => results[s.Index] is { } r
            ? $"{s.Name}: {r.Error!.Message}"
            : $"{s.Name}: not attempted ({s.State})."));
        return new HelixException($"The write was applied on no strand. {describe}", primary, secondary, isTransient: true);
    }

    private static HelixException NoWritableStrand(HelixDataSource dataSource, TimeSpan waited)
    {
        var status = dataSource.GetStatus();
        var describe = string.Join("; ", status.Strands.Select(s =>
            $"{s.Name} is {s.State}" + (s.Backlog > 0 ? $" with {s.Backlog} entries to replay" : string.Empty) + (s.LastError is null ? string.Empty : $" (last error: {s.LastError})")));
        return new HelixException(
            $"No strand can take writes, and none became healthy within the command timeout ({waited.TotalSeconds:0.#} s): {describe}. Nothing was written.",
            null,
            null,
            isTransient: true);
    }
}
