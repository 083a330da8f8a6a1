using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Helix.Data.Replay;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// Writes outside a transaction (contract section 5): routed on every strand (<see cref="WriteRouting"/>), run on the
/// strands that take it directly (<see cref="WriteFanOut"/>), then settled by the outcome table: the caller gets the
/// first success, and every other strand gets the write by replay, or is reported.
/// </summary>
internal static class WritePath
{
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    // Out of line: inlined, an async method's state machine (with its copy of the execution) would sit in the
    // caller's frame and be zeroed on every call, taken or not: 1.6 KB in ReadPath.Execute (docs/performance.md).
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static async ValueTask<object?> ExecuteAsync(Execution execution)
    {
        var dataSource = execution.DataSource;
        var strands = dataSource.Strands;
        execution.Statement.ThrowIfQueueCannotStore(dataSource.Configuration.ReplayQueue);

        var routes = await WriteRouting.RouteAsync(dataSource, WriteRouting.TimeoutOf(execution.Statement.CommandTimeout), execution.Io, execution.CancellationToken).ConfigureAwait(false);
        var entries = new HelixReplayEntry?[strands.Length];
        for (var i = 0; i < strands.Length; i++)
        {
            if (routes[i] == WriteRoute.Queue)
            {
                entries[i] = Entry(in execution, strands[i], error: null);
            }
        }

        // While a strand is behind, a durable queue first records the write for every strand: if this process dies
        // before the write settles, the worker of the next one brings it to every strand.
        Guid? intent = null;
        if (dataSource.Configuration.ReplayQueue is { SupportsIntents: true } && WriteRouting.Has(routes, WriteRoute.Queue) && WriteRouting.Has(routes, WriteRoute.Direct))
        {
            try
            {
                intent = await WriteRouting.RecordIntentAsync(dataSource, EntriesForEveryStrand(execution, entries), execution.Io).ConfigureAwait(false);
            }
            catch
            {
                WriteRouting.EndReservations(strands, routes);
                throw;
            }
        }

        try
        {
            return await RunAndSettleAsync(execution, routes, entries).ConfigureAwait(false);
        }
        finally
        {
            await WriteRouting.ForgetIntentAsync(dataSource, intent, execution.Io).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Settles the result of a strand whose result the caller does not get: a reader is read to its end (so that the
    /// write completes) and closed. Returns the rows it reports and its first rows (<see cref="ReturnedValues"/>), or the
    /// error that stopped it.
    /// </summary>
    public static ValueTask<Settled> SettleOtherAsync(in StrandResult result, IStatement statement, IOBehavior io) =>
        result.Value is DbDataReader reader
            ? DrainAsync(reader, statement, result.Command, result.Detach, io)
            : new(new Settled(result.Value is int rows ? rows : -1, null, null)); // a count: nothing to settle

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<object?> RunAndSettleAsync(Execution execution, WriteRoute[] routes, HelixReplayEntry?[] entries)
    {
        var dataSource = execution.DataSource;
        var strands = dataSource.Strands;
        var strategy = dataSource.Configuration.WriteStrategy;
        var direct = DirectStrands(strands, routes);
        var ran = direct.Length == 0 ? [] : await WriteFanOut.RunAsync(execution, direct, null, execution.WriteOrder, mayOffload: direct.Length == strands.Length).ConfigureAwait(false);
        var results = new StrandResult?[strands.Length];
        for (var i = 0; i < direct.Length; i++)
        {
            results[direct[i].Index] = ran[i];
        }

        var (primaryIn, secondaryIn) = (AppliedIn(results[0]), AppliedIn(results[1]));
        if (secondaryIn is { } elapsed)
        {
            strands[1].NoteWrite(elapsed); // what decides whether the next write offers it to the pool
        }

        strategy.OnWriteCompleted(primaryIn, secondaryIn, dataSource.StrandView!);
        var winner = FirstSucceeded(results);
        if (winner < 0)
        {
            if (InDoubt(results))
            {
                throw await SettleInDoubtAsync(execution, routes, results, entries).ConfigureAwait(false);
            }

            WriteRouting.EndReservations(strands, routes);
            throw WriteFailed(dataSource, results);
        }

        var winning = results[winner]!.Value;
        HelixMetrics.Writes.Add(1, winning.Strand.MetricTags);
        Settled? other = null;
        Strand? compared = null;
        for (var i = 0; i < strands.Length; i++)
        {
            if (i != winner && await SettleAsync(execution, strands[i], routes[i], results[i], entries[i], winning).ConfigureAwait(false) is { } settled)
            {
                (other, compared) = (settled, strands[i]);
            }
        }

        return compared is null
            ? CommandEngine.Finish(in winning, in execution, isRead: false)
            : CommandEngine.Finish(in winning, in execution, isRead: false, ReturnedValues.CompareOnClose(execution, compared, other!.Value), recordRows: true);
    }

    /// <summary>
    /// Brings the write to a strand whose result the caller does not get, by the outcome table: queued or reported when it
    /// was not run directly; compared when it succeeded too; dead-lettered when it refused the statement; queued for
    /// replay when it missed it. Returns what a reader of the strand reported, to compare once the caller's closes.
    /// </summary>
    private static async ValueTask<Settled?> SettleAsync(Execution execution, Strand strand, WriteRoute route, StrandResult? ran, HelixReplayEntry? queued, StrandResult winning)
    {
        var (dataSource, text) = (execution.DataSource, execution.Statement.CommandText);
        if (route != WriteRoute.Direct)
        {
            await WriteRouting.SettleAsync(dataSource, strand, route, () => queued!, text, execution.Io).ConfigureAwait(false);
            return null;
        }

        var result = ran!.Value;
        if (result.Succeeded)
        {
            HelixMetrics.Writes.Add(1, strand.MetricTags);
            var settled = await SettleOtherAsync(in result, execution.Statement, execution.Io).ConfigureAwait(false);
            if (settled.Error is not null)
            {
                await MissedAsync(execution, strand, settled.Error, isFault: true).ConfigureAwait(false);
            }
            else if (execution.Operation == Operation.Reader)
            {
                return settled;
            }
            else
            {
                ReturnedValues.Compare(in execution, in winning, in result, settled.Rows);
            }
        }
        else if (result.Kind == HelixErrorKind.StatementError && !result.Cancelled)
        {
            await WriteRouting.RefusedAsync(dataSource, strand, Entry(in execution, strand, result.Error), text, result.Error!, execution.Io).ConfigureAwait(false);
        }
        else
        {
            await MissedAsync(execution, strand, result.Error!, isFault: !result.Cancelled).ConfigureAwait(false);
        }

        return null;
    }

    private static ValueTask MissedAsync(Execution execution, Strand strand, Exception error, bool isFault) =>
        WriteRouting.MissedAsync(execution.DataSource, strand, e => Entry(in execution, strand, e), execution.Statement.CommandText, error, isFault, execution.Io);

    private static Strand[] DirectStrands(Strand[] strands, WriteRoute[] routes)
    {
        var count = 0;
        foreach (var route in routes)
        {
            count += route == WriteRoute.Direct ? 1 : 0;
        }

        if (count == strands.Length)
        {
            return strands;
        }

        var direct = new Strand[count];
        for (int i = 0, n = 0; i < strands.Length; i++)
        {
            if (routes[i] == WriteRoute.Direct)
            {
                direct[n++] = strands[i];
            }
        }

        return direct;
    }

    private static HelixReplayEntry Entry(in Execution execution, Strand strand, Exception? error) =>
        RecordedStatement.Entry(execution.DataSource, strand, execution.Timestamp, [.. execution.Statement.Record(in execution, [strand], execution.DataSource.Strands.Length)], isTransaction: execution.Statement.IsBatch, error);

    private static HelixReplayEntry[] EntriesForEveryStrand(Execution execution, HelixReplayEntry?[] entries) =>
        [.. execution.DataSource.Strands.Select(s => entries[s.Index] ?? Entry(in execution, s, error: null))];

    /// <summary>How long a strand took to apply the write directly, or <see langword="null"/> when it did not.</summary>
    private static TimeSpan? AppliedIn(in StrandResult? result) => result is { Succeeded: true } applied ? applied.Elapsed : null;

    private static int FirstSucceeded(StrandResult?[] results)
    {
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i] is { Succeeded: true })
            {
                return i;
            }
        }

        return -1;
    }

    private static async ValueTask<Settled> DrainAsync(DbDataReader reader, IStatement statement, DbCommand? command, bool detach, IOBehavior io)
    {
        var returned = new ReturnedRows();
        try
        {
            if (io == IOBehavior.Synchronous)
            {
                do
                {
                    while (reader.Read())
                    {
                        returned.Read(reader);
                    }

                    returned.NextResult();
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
                        returned.Read(reader);
                    }

                    returned.NextResult();
                }
                while (await reader.NextResultAsync().ConfigureAwait(false));
                await reader.DisposeAsync().ConfigureAwait(false);
            }

            return new(reader.RecordsAffected, null, returned);
        }
#pragma warning disable CA1031 // the other strand's error becomes a replay entry, not the caller's error
        catch (Exception e)
#pragma warning restore CA1031
        {
            return new(-1, e, null);
        }
        finally
        {
            StrandRunner.ReleaseQuietly(statement, command, detach);
        }
    }

    /// <summary>What a strand whose result the caller does not get reported: its rows affected, its first rows returned (a reader's), or the error that stopped it.</summary>
    public readonly record struct Settled(int Rows, Exception? Error, ReturnedRows? Returned);

    /// <summary>
    /// Whether a write that no strand acknowledged may have been applied all the same: every strand that ran it had a
    /// strand fault (none refused it, none was cancelled by the caller), and one of them after the statement was sent.
    /// </summary>
    private static bool InDoubt(StrandResult?[] results)
    {
        var inDoubt = false;
        foreach (var result in results)
        {
            if (result is { } ran)
            {
                if (ran.Cancelled || ran.Kind == HelixErrorKind.StatementError)
                {
                    return false;
                }

                inDoubt |= ran.InDoubt;
            }
        }

        return inDoubt;
    }

    /// <summary>
    /// A write whose outcome is unknown (contract section 5): a strand may have applied it before its connection was lost,
    /// and nothing can tell. So that the strands cannot end up different, every strand gets it: the strands that ran it
    /// are marked Failed and get it by replay, the others by their route, as for a write that one strand applied. The
    /// caller gets a transient <see cref="HelixException"/> that says so.
    /// </summary>
    private static async ValueTask<HelixException> SettleInDoubtAsync(Execution execution, WriteRoute[] routes, StrandResult?[] results, HelixReplayEntry?[] entries)
    {
        var strands = execution.DataSource.Strands;
        for (var i = 0; i < strands.Length; i++)
        {
            if (routes[i] != WriteRoute.Direct)
            {
                await WriteRouting.SettleAsync(execution.DataSource, strands[i], routes[i], () => entries[i]!, execution.Statement.CommandText, execution.Io).ConfigureAwait(false);
            }
            else
            {
                await MissedAsync(execution, strands[i], results[i]!.Value.Error!, isFault: true).ConfigureAwait(false);
            }
        }

        return new HelixException(
            $"The write's outcome is unknown: a strand's connection was lost after the statement was sent, so it may have been applied. It is replayed on every strand so that they agree; retry it only if it is idempotent. {Describe(strands, results)}",
            results[0]?.Error,
            results.Length > 1 ? results[1]?.Error : null,
            isTransient: true)
        {
            IsOutcomeUnknown = true,
        };
    }

    /// <summary>
    /// The exception for a write no strand applied: a statement error unchanged, or the error of a strand that ended the
    /// statement itself (not failed for it: it answered), else a <see cref="HelixException"/>.
    /// </summary>
    private static HelixException WriteFailed(HelixDataSource dataSource, StrandResult?[] results)
    {
        foreach (var result in results)
        {
            if (result is { Succeeded: false } failed && failed.Kind == HelixErrorKind.StrandFault && !failed.Cancelled && !failed.EndedWithoutEffect)
            {
                failed.Strand.Controller.ReportFault(failed.Error!);
            }
        }

        // The strands answered and refused the statement, or ended it themselves (a timeout, a deadlock), or the caller
        // cancelled: the provider's own exception, as without Helix.
        foreach (var result in results)
        {
            if (result is { } failed && (failed.Kind == HelixErrorKind.StatementError || failed.Cancelled || failed.EndedWithoutEffect))
            {
                ExceptionDispatchInfo.Capture(failed.Error!).Throw();
            }
        }

        return new HelixException(
            $"The write was applied on no strand. {Describe(dataSource.Strands, results)}",
            results[0]?.Error,
            results.Length > 1 ? results[1]?.Error : null,
            isTransient: true);
    }

    /// <summary>What each strand did with a write none acknowledged, for the caller's exception.</summary>
    private static string Describe(Strand[] strands, StrandResult?[] results) =>
        string.Join(" ", strands.Select(s => results[s.Index] is { } r ? $"{s.Name}: {r.Error!.Message}" : $"{s.Name}: not attempted ({s.State})."));
}
