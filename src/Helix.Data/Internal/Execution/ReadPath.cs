using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Helix.Data.Logging;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// Reads (contract section 6): one strand, picked by the read strategy within what the failover policy allows; on a
/// strand fault the policy decides whether the read moves to the other strand. With no healthy strand a read keeps
/// read-your-writes (<see cref="WithoutHealthyAsync"/>).
/// </summary>
internal static class ReadPath
{
    /// <remarks>Not an async method: a read whose strand answers at once (SQLite, any synchronous call) runs without a state machine.</remarks>
    public static ValueTask<object?> Execute(in Execution execution)
    {
        var reads = execution.DataSource.Reads!;
        var pinned = execution.Statement.ReadsServerToken; // a token is checked where it was read: never hedged either
        var first = pinned ? reads.FirstHealthy() : reads.Pick();
        if (first is null || !first.IsHealthy)
        {
            return WithoutHealthyAsync(execution, fault: null);
        }

        if (execution.DataSource.Hedging is not null && execution.Io == IOBehavior.Asynchronous && !pinned)
        {
            return MaybeHedged(in execution, first);
        }

        var running = StrandRunner.RunAsync(in execution, first);
        if (!running.IsCompletedSuccessfully)
        {
            return AfterAsync(execution, running);
        }

        var result = running.Result;
        return Answered(reads, in result) ? new(CommandEngine.Finish(in result, in execution, isRead: true)) : FailoverAsync(execution, result);
    }

    /// <summary>
    /// An asynchronous read under <c>Hedge After</c>: hedged when the other strand is healthy, the first strand's inner
    /// connection is open (an attempt then never opens it from inside the race) and, with <c>Auto</c>, enough recent
    /// reads are known to tell the strand's 95th percentile; else run as any read.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its locals stay out of the frame of every unhedged read
    private static ValueTask<object?> MaybeHedged(in Execution execution, Strand first)
    {
        var second = execution.DataSource.Reads!.Other(first);
        if (second is { IsHealthy: true } && execution.DataSource.Hedging!.DelayFor(first) is { } delay && execution.Connection.HasInner(first))
        {
            return ReadHedging.ReadAsync(execution, first, second, delay);
        }

        var running = StrandRunner.RunAsync(in execution, first);
        return running.IsCompletedSuccessfully ? ContinueAsync(in execution, running.Result) : AfterAsync(execution, running);
    }

    /// <summary>The rest of a read whose first strand has given its result: served, or failed over.</summary>
    public static ValueTask<object?> ContinueAsync(in Execution execution, in StrandResult result) =>
        Answered(execution.DataSource.Reads!, in result) ? new(CommandEngine.Finish(in result, in execution, isRead: true)) : FailoverAsync(execution, result);

    /// <summary>The rest of a read whose first strand did not answer at once.</summary>
    // Out of line: inlined, an async method's state machine (with its copy of the execution) would sit in the
    // caller's frame and be zeroed on every call, taken or not: 1.6 KB in ReadPath.Execute (docs/performance.md).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async ValueTask<object?> AfterAsync(Execution execution, ValueTask<StrandResult> running)
    {
        var result = await running.ConfigureAwait(false);
        return Answered(execution.DataSource.Reads!, result)
            ? CommandEngine.Finish(in result, in execution, isRead: true)
            : await FailoverAsync(execution, result).ConfigureAwait(false);
    }

    /// <summary>
    /// A read met a strand fault on its first strand: retried there first (<c>Strand Retry</c>), then the policy decides
    /// whether it moves to the other.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // out of line, as above
    private static async ValueTask<object?> FailoverAsync(Execution execution, StrandResult result)
    {
        var (dataSource, reads, first) = (execution.DataSource, execution.DataSource.Reads!, result.Strand);
        result = await dataSource.Retry.AfterAsync(in execution, result).ConfigureAwait(false);
        if (Answered(reads, result))
        {
            return CommandEngine.Finish(in result, in execution, isRead: true);
        }

        if (reads.Faulted(in result) is not { } second)
        {
            return CommandEngine.Finish(in result, in execution, isRead: true);
        }

        Log.ReadFailover(dataSource.Logger, first.Name, second.Name, result.Error!.Message);
        HelixMetrics.Failovers.Add(1, first.MetricTags);
        execution.Activity?.SetTag("helix.failover", true);
        if (!second.IsHealthy)
        {
            return await WithoutHealthyAsync(execution, result).ConfigureAwait(false);
        }

        var retry = await StrandRunner.RunAsync(in execution, second).ConfigureAwait(false);
        retry = await dataSource.Retry.AfterAsync(in execution, retry).ConfigureAwait(false);
        if (Answered(reads, retry))
        {
            return CommandEngine.Finish(in retry, in execution, isRead: true);
        }

        reads.Faulted(in retry);
        throw BothFaulted(dataSource, result, retry);
    }

    /// <summary>
    /// A read that no healthy strand can serve, first or after <paramref name="fault"/> on its first strand. With
    /// <c>Stale Reads=Never</c> it goes to a strand with nothing left to replay (it holds every write acknowledged before
    /// this read), waiting within the command timeout for one to catch up; with <c>Allow</c>, to the strand most likely to
    /// answer. A strand out of sync never serves it. A second fault ends the read.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // out of line, as above
    private static async ValueTask<object?> WithoutHealthyAsync(Execution execution, StrandResult? fault)
    {
        var (dataSource, reads) = (execution.DataSource, execution.DataSource.Reads!);
        var faulted = fault?.Strand;
        var staleReads = dataSource.Configuration.StaleReads;
        var timeout = WriteRouting.TimeoutOf(execution.Statement.CommandTimeout);
        var started = dataSource.TimeProvider.GetTimestamp();
        while (true)
        {
            var changes = dataSource.Strands.Select(s => s.Controller.Changed).ToArray(); // taken before the decision: no change is missed
            var strand = reads.Pick() is { IsHealthy: true } healthy && healthy != faulted ? healthy : reads.ReadableWithoutHealthy(faulted, staleReads);
            if (strand is not null)
            {
                if (!strand.IsHealthy && staleReads == HelixStaleReads.Allow)
                {
                    Log.StaleRead(dataSource.Logger, strand.Name, strand.State);
                    HelixMetrics.StaleReads.Add(1, strand.MetricTags);
                    execution.Activity?.SetTag("helix.stale", true);
                }

                var result = await StrandRunner.RunAsync(in execution, strand).ConfigureAwait(false);
                if (Answered(reads, result))
                {
                    return CommandEngine.Finish(in result, in execution, isRead: true);
                }

                if (fault is null)
                {
                    return await FailoverAsync(execution, result).ConfigureAwait(false);
                }

                result = await dataSource.Retry.AfterAsync(in execution, result).ConfigureAwait(false);
                if (Answered(reads, result))
                {
                    return CommandEngine.Finish(in result, in execution, isRead: true);
                }

                reads.Faulted(in result);
                throw BothFaulted(dataSource, fault.Value, result);
            }

            var remaining = timeout == Timeout.InfiniteTimeSpan ? timeout : timeout - dataSource.TimeProvider.GetElapsedTime(started);
            if (remaining != Timeout.InfiniteTimeSpan && remaining <= TimeSpan.Zero)
            {
                throw NoCaughtUpStrand(dataSource, timeout, fault?.Error);
            }

            Log.ReadWaitsForFreshStrand(dataSource.Logger, Describe(dataSource));
            await dataSource.WaitForStateChangeAsync(changes, execution.Io, remaining, execution.CancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Whether the strand answered (a result, or a refusal of the statement), or the caller cancelled: no failover.</summary>
    public static bool Answered(ReadCoordinator reads, in StrandResult result)
    {
        if (result.Succeeded || result.Kind == HelixErrorKind.StatementError)
        {
            reads.Succeeded(result.Strand, result.Elapsed);
            return true;
        }

        return result.Cancelled;
    }

    /// <summary>
    /// The exception for a read that met strand faults on both strands. Where both servers ended the read themselves (its
    /// command timeout, a deadlock), the first strand's own exception, as without Helix.
    /// </summary>
    public static HelixException BothFaulted(HelixDataSource dataSource, in StrandResult first, in StrandResult second)
    {
        if (first.ServerEnded && second.ServerEnded)
        {
            ExceptionDispatchInfo.Throw(first.Error!);
        }

        var (primaryError, secondaryError) = first.Strand.Id == HelixStrand.Primary ? (first.Error, second.Error) : (second.Error, first.Error);
        return new HelixException(
            $"The read failed on both strands with strand faults. {dataSource.Strands[0].Name}: {primaryError!.Message} {dataSource.Strands[1].Name}: {secondaryError!.Message}",
            primaryError,
            secondaryError,
            isTransient: true);
    }

    private static HelixException NoCaughtUpStrand(HelixDataSource dataSource, TimeSpan waited, Exception? fault) => new(
        $"No strand can serve the read with every write acknowledged before it, and none caught up within the command timeout ({waited.TotalSeconds:0.#} s): {Describe(dataSource)}. "
        + "Set 'Stale Reads=Allow' to read from a strand that may lag behind instead.",
        fault,
        null,
        isTransient: true);

    private static string Describe(HelixDataSource dataSource) => string.Join("; ", dataSource.Strands.Select(s =>
        $"{s.Name} is {s.State}" + (s.Controller.Backlog is > 0 and var backlog ? $" with {backlog} entries to replay" : string.Empty)));
}
