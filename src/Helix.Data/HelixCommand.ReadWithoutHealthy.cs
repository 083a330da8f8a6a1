using System.Data;
using Helix.Data.Internal;
using Helix.Data.Logging;

namespace Helix.Data;

/// <content>
/// Reads when no healthy strand can serve them (contract section 6): read-your-writes holds unless <c>Stale Reads=Allow</c>.
/// </content>
public sealed partial class HelixCommand
{
    /// <summary>
    /// A read that no healthy strand can serve, first or after <paramref name="fault"/> on its first strand. With
    /// <c>Stale Reads=Never</c> it goes to a strand with nothing left to replay (it holds every write acknowledged before
    /// this read), waiting within the command timeout for one to catch up; with <c>Allow</c>, to the strand most likely to
    /// answer. A strand out of sync never serves it. A second fault ends the read.
    /// </summary>
    private async ValueTask<object?> ReadWithoutHealthyAsync(HelixConnection connection, HelixDataSource dataSource, StrandResult? fault, Operation operation, CommandBehavior behavior, SqlTextInfo text, long timestamp, IOBehavior io, CancellationToken cancellationToken)
    {
        var reads = dataSource.Reads!;
        var faulted = fault?.Strand;
        var staleReads = dataSource.Configuration.StaleReads;
        var timeout = WriteRouting.TimeoutOf(CommandTimeout);
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
                    _activity?.SetTag("helix.stale", true);
                }

                var result = await RunOnStrandAsync(connection, strand, operation, behavior, true, text, timestamp, null, io, cancellationToken).ConfigureAwait(false);
                if (Answered(reads, result))
                {
                    return Finish(result);
                }

                if (fault is null)
                {
                    return await FailoverAsync(connection, dataSource, operation, behavior, text, timestamp, result, io, cancellationToken).ConfigureAwait(false);
                }

                reads.Faulted(strand, result.Error!);
                throw BothFaulted(dataSource, fault.Value, result);
            }

            var remaining = timeout == Timeout.InfiniteTimeSpan ? timeout : timeout - dataSource.TimeProvider.GetElapsedTime(started);
            if (remaining != Timeout.InfiniteTimeSpan && remaining <= TimeSpan.Zero)
            {
                throw NoCaughtUpStrand(dataSource, timeout, fault?.Error);
            }

            Log.ReadWaitsForFreshStrand(dataSource.Logger, Describe(dataSource));
            await dataSource.WaitForStateChangeAsync(changes, io, remaining, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The exception for a read that met strand faults on both strands.</summary>
    private static HelixException BothFaulted(HelixDataSource dataSource, in StrandResult first, in StrandResult second)
    {
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
