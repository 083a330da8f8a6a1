using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Helix.Data.Internal;
using Helix.Data.Replay;
using Helix.Data.Strategies;

namespace Helix.Data;

/// <content>Writes (contract section 5): routing per strand, execution by the write strategy, and the outcome table.</content>
public sealed partial class HelixCommand
{
    // Not inlined into ExecuteAsync: its state machine, a large struct, would be cleared on every read as well.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private async ValueTask<object?> ExecuteWriteAsync(HelixConnection connection, HelixDataSource dataSource, Operation operation, CommandBehavior behavior, SqlTextInfo text, IOBehavior io, CancellationToken cancellationToken)
    {
        var strands = dataSource.Strands;
        ThrowIfQueueCannotStore(dataSource);
        var timestamp = dataSource.Timestamps.Next();
        var routes = await WriteRouting.RouteAsync(dataSource, WriteRouting.TimeoutOf(CommandTimeout), io, cancellationToken).ConfigureAwait(false);
        var entries = new HelixReplayEntry?[strands.Length];
        for (var i = 0; i < strands.Length; i++)
        {
            if (routes[i] == WriteRoute.Queue)
            {
                entries[i] = BuildEntry(dataSource, strands[i], text, timestamp, error: null);
            }
        }

        // While a strand is behind, a durable queue first records the write for every strand: if this process dies
        // before the write settles, the worker of the next one brings it to every strand.
        Guid? intent = null;
        if (dataSource.Configuration.ReplayQueue is { SupportsIntents: true } && WriteRouting.Has(routes, WriteRoute.Queue) && WriteRouting.Has(routes, WriteRoute.Direct))
        {
            try
            {
                intent = await WriteRouting.RecordIntentAsync(dataSource, EntriesForEveryStrand(dataSource, entries, text, timestamp), io).ConfigureAwait(false);
            }
            catch
            {
                WriteRouting.EndReservations(strands, routes);
                throw;
            }
        }

        try
        {
            return await ExecuteRoutedWriteAsync(connection, dataSource, operation, behavior, text, timestamp, routes, entries, io, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await WriteRouting.ForgetIntentAsync(dataSource, intent, io).ConfigureAwait(false);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<object?> ExecuteRoutedWriteAsync(
        HelixConnection connection,
        HelixDataSource dataSource,
        Operation operation,
        CommandBehavior behavior,
        SqlTextInfo text,
        long timestamp,
        WriteRoute[] routes,
        HelixReplayEntry?[] entries,
        IOBehavior io,
        CancellationToken cancellationToken)
    {
        var strands = dataSource.Strands;

        var results = new StrandResult?[strands.Length];
        var firstDirect = WriteRouting.IndexOf(routes, WriteRoute.Direct);
        var strategy = dataSource.Configuration.WriteStrategy;
        var order = strategy.GetOrder(dataSource.StrandView!);
        var bothDirect = order == HelixWriteOrder.Concurrent && WriteRouting.AllAre(routes, WriteRoute.Direct);
        if (bothDirect && strands.Length == 2 && (io == IOBehavior.Synchronous || strands[0].AsyncCompletesInline)
            && strands[1].WritesTakeAtLeast(dataSource.OffloadThreshold) && CanOffload())
        {
            // The strands would not overlap on this thread (a synchronous call, or a provider whose asynchronous methods
            // complete before returning): the second is offered to the thread pool while this thread runs the first.
            // Unless its writes are shorter than handing one to another thread: then running it in turn costs less.
            var offloaded = OffloadedStrand.Offer(this, connection, strands[1], operation, behavior, text, timestamp, io, dataSource.OffersToThreadPool, cancellationToken);
            var first = RunOnStrandAsync(connection, strands[0], operation, behavior, true, text, timestamp, null, io, cancellationToken);
            if (io == IOBehavior.Asynchronous)
            {
                strands[0].AsyncCompletesInline = first.IsCompleted;
            }

            results[0] = await first.ConfigureAwait(false);
            results[1] = await offloaded.JoinAsync().ConfigureAwait(false);
        }
        else if (io == IOBehavior.Asynchronous && bothDirect)
        {
            // Each ValueTask is awaited exactly once, below; storing them is what lets the strands run concurrently.
#pragma warning disable CA2012
            var running = new ValueTask<StrandResult>[strands.Length];
            for (var i = 0; i < strands.Length; i++)
            {
                running[i] = RunOnStrandAsync(connection, strands[i], operation, behavior, i == firstDirect, text, timestamp, null, io, cancellationToken);
            }

            strands[0].AsyncCompletesInline = running[0].IsCompleted;

            for (var i = 0; i < strands.Length; i++)
            {
                results[i] = await running[i].ConfigureAwait(false);
            }
#pragma warning restore CA2012
        }
        else
        {
            for (var n = 0; n < strands.Length; n++)
            {
                var i = order == HelixWriteOrder.SecondaryFirst ? strands.Length - 1 - n : n;
                if (routes[i] == WriteRoute.Direct)
                {
                    results[i] = await RunOnStrandAsync(connection, strands[i], operation, behavior, i == firstDirect, text, timestamp, null, io, cancellationToken).ConfigureAwait(false);
                }
            }
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
            WriteRouting.EndReservations(strands, routes);
            throw WriteFailed(dataSource, results);
        }

        var winning = results[winner]!.Value;
        HelixMetrics.Writes.Add(1, winning.Strand.MetricTags);
        int? otherRows = null;
        Strand? comparedStrand = null;
        for (var i = 0; i < strands.Length; i++)
        {
            if (i == winner)
            {
                continue;
            }

            var strand = strands[i];
            if (routes[i] != WriteRoute.Direct)
            {
                await SettleQueuedAsync(dataSource, strand, routes[i], entries[i]!, io).ConfigureAwait(false);
                continue;
            }

            var result = results[i]!.Value;
            if (result.Succeeded)
            {
                HelixMetrics.Writes.Add(1, strand.MetricTags);
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
                await WriteRouting.RefusedAsync(dataSource, strand, BuildEntry(dataSource, strand, text, timestamp, result.Error), _commandText, result.Error!, io).ConfigureAwait(false);
            }
            else
            {
                await MissedAsync(dataSource, strand, text, timestamp, result.Error!, isFault: !result.Cancelled, io).ConfigureAwait(false);
            }
        }

        return Finish(winning, comparedStrand is null ? null : CompareRowsOnClose(dataSource, comparedStrand, otherRows), isRead: false);
    }

    /// <summary>
    /// Whether the second strand's part of this write can run on another thread beside the first's: not for a batch,
    /// whose commands' parameters are copied as the batch is built for each strand; nor under an ambient
    /// System.Transactions scope, which a provider that opens the strand's connection on another thread (Npgsql enlists
    /// on open) would not see there.
    /// </summary>
    private bool CanOffload() => _batch is null && System.Transactions.Transaction.Current is null;

    // The lambdas of the rare paths live in these helpers, so that a write that takes none of them allocates no closure.
    private HelixReplayEntry[] EntriesForEveryStrand(HelixDataSource dataSource, HelixReplayEntry?[] entries, SqlTextInfo text, long timestamp) =>
        [.. dataSource.Strands.Select(s => entries[s.Index] ?? BuildEntry(dataSource, s, text, timestamp, error: null))];

    private ValueTask SettleQueuedAsync(HelixDataSource dataSource, Strand strand, WriteRoute route, HelixReplayEntry queued, IOBehavior io) =>
        WriteRouting.SettleAsync(dataSource, strand, route, () => queued, _commandText, io);

    private ValueTask MissedAsync(HelixDataSource dataSource, Strand strand, SqlTextInfo text, long timestamp, Exception error, bool isFault, IOBehavior io) =>
        WriteRouting.MissedAsync(dataSource, strand, e => BuildEntry(dataSource, strand, text, timestamp, e), _commandText, error, isFault, io);

    private Action<HelixDataReader> CompareRowsOnClose(HelixDataSource dataSource, Strand comparedStrand, int? otherRows) => reader =>
    {
        if (reader.RecordsAffected != otherRows)
        {
            dataSource.Reporter.RowsAffectedDiffer(comparedStrand, _commandText, reader.RecordsAffected, otherRows!.Value);
        }
    };

    /// <summary>How long a strand took to apply the write directly, or <see langword="null"/> when it did not.</summary>
    private static TimeSpan? AppliedIn(in StrandResult? result) => result is { Succeeded: true } applied ? applied.Elapsed : null;

    /// <summary>The first strand whose result is a success, or -1.</summary>
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

    /// <summary>
    /// Settles the result of a strand whose result the caller does not get: a reader is read to its end (so that the
    /// write completes) and closed. Returns the rows it reports, or the error that stopped it.
    /// </summary>
    internal ValueTask<(int Rows, Exception? Error)> SettleOtherResultAsync(in StrandResult result, IOBehavior io) =>
        result.Value is DbDataReader reader
            ? DrainOtherAsync(reader, result.Command, result.Detach, io)
            : new((result.Value is int rows ? rows : -1, null)); // a count: nothing to settle, and no state machine for it

    private async ValueTask<(int Rows, Exception? Error)> DrainOtherAsync(DbDataReader reader, DbCommand? command, bool detach, IOBehavior io)
    {
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
            ReleaseQuietly(command, detach);
        }
    }

    /// <summary>
    /// Refuses, before anything runs, a write with a parameter value the replay queue could not store for a strand
    /// that misses it (contract section 5): nothing is half-written.
    /// </summary>
    internal void ThrowIfQueueCannotStore(HelixDataSource dataSource)
    {
        if (dataSource.Configuration.ReplayQueue is not { } queue)
        {
            return;
        }

        if (_batch is null)
        {
            ThrowIfCannotStore(queue, _parameters.Items);
            return;
        }

        foreach (var command in _batch.Commands)
        {
            ThrowIfCannotStore(queue, command.Parameters.Items);
        }

        static void ThrowIfCannotStore(HelixReplayQueue queue, ReadOnlySpan<DbParameter> parameters)
        {
            foreach (var parameter in parameters)
            {
                if (!queue.CanStore(parameter.Value))
                {
                    HelixReplaySerializer.ThrowIfCannotStore(parameter.ParameterName, parameter.Value);
                    throw new NotSupportedException($"Parameter '{parameter.ParameterName}' has a value that the replay queue ({queue.GetType().Name}) cannot store, so the write was refused before anything ran.");
                }
            }
        }
    }

    private HelixReplayEntry BuildEntry(HelixDataSource dataSource, Strand strand, SqlTextInfo text, long timestamp, Exception? error) =>
        RecordedStatement.Entry(dataSource, strand, timestamp, [.. Record(text, timestamp, [strand], dataSource.Strands.Length)], isTransaction: _batch is not null, error);

    /// <summary>Captures this command (or each command of its batch), as it runs now, for replay on the given strands.</summary>
    internal IEnumerable<RecordedStatement> Record(SqlTextInfo text, long timestamp, IEnumerable<Strand> strands, int strandCount) =>
        _batch?.Record(timestamp, _commandTimeout, strands, strandCount)
        ?? [RecordedStatement.Capture(_commandText, _commandType, _commandTimeout, _parameters.Items, TimestampTemplate(text, timestamp), strands, strandCount)];

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
}
