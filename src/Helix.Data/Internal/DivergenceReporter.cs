using Helix.Data.Logging;
using Helix.Data.Replay;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal;

/// <summary>Reports every way the strands come to differ: log, metric, counter and the user's callback.</summary>
internal sealed class DivergenceReporter(ILogger logger, Action<HelixDivergence>? callback)
{
    private long _divergences;
    private long _deadLettered;
    private long _dropped;

    public long Divergences => Interlocked.Read(ref _divergences);

    public long DeadLetteredCount => Interlocked.Read(ref _deadLettered);

    public long DroppedCount => Interlocked.Read(ref _dropped);

    public void RowsAffectedDiffer(Strand strand, string commandText, int primaryRows, int otherRows, string where = "") =>
        Report(new(HelixDivergenceKind.RowsAffectedDiffer, strand.Id, commandText,
            $"the primary reported {primaryRows} affected rows{where} and strand {strand.Name} {otherRows}", null), strand);

    public void ReturnedValuesDiffer(Strand strand, string commandText, string what) =>
        Report(new(HelixDivergenceKind.ReturnedValuesDiffer, strand.Id, commandText,
            $"{what} differs between the strand the caller got it from and strand {strand.Name}: a value each database generated for itself (a serial or identity key, a default such as now(), a trigger, a sequence); generate it in the application", null), strand);

    public void StatementRejected(Strand strand, string commandText, Exception error, HelixReplayEntry? entry)
    {
        Interlocked.Increment(ref _deadLettered);
        HelixMetrics.ReplayDeadLettered.Add(1, strand.MetricTags);
        Report(new(HelixDivergenceKind.StatementRejected, strand.Id, commandText,
            $"strand {strand.Name} refused a write the other strand applied: {error.GetType().Name}: {error.Message}", entry), strand);
    }

    public void DeadLettered(Strand strand, HelixReplayEntry entry, string reason)
    {
        Interlocked.Increment(ref _deadLettered);
        HelixMetrics.ReplayDeadLettered.Add(1, strand.MetricTags);
        Log.ReplayDeadLettered(logger, entry.Id, strand.Name, reason);
        Report(new(HelixDivergenceKind.ReplayDeadLettered, strand.Id, entry.Statements[0].CommandText, reason, entry), strand);
    }

    public void Dropped(Strand strand, string commandText, string reason, HelixReplayEntry? entry, bool quiet = false)
    {
        Interlocked.Increment(ref _dropped);
        HelixMetrics.ReplayDropped.Add(1, strand.MetricTags);
        if (!quiet)
        {
            Log.ReplayDropped(logger, strand.Name, reason, commandText);
        }

        Report(new(HelixDivergenceKind.ReplayDropped, strand.Id, commandText, reason, entry), strand, log: false);
    }

    public void OutOfSync(Strand strand, string reason)
    {
        Log.StrandOutOfSync(logger, strand.Name, reason);
        Report(new(HelixDivergenceKind.StrandOutOfSync, strand.Id, string.Empty, $"strand {strand.Name} is out of sync: {reason}", null), strand, log: false);
    }

    private void Report(HelixDivergence divergence, Strand strand, bool log = true)
    {
        Interlocked.Increment(ref _divergences);
        HelixMetrics.Divergences.Add(1, HelixMetrics.With(strand.MetricTags, "helix.divergence.kind", divergence.Kind.ToString()));
        if (log)
        {
            Log.Divergence(logger, divergence.Kind, strand.Name, divergence.Message, divergence.CommandText);
        }

        if (callback is not null)
        {
            try
            {
                callback(divergence);
            }
#pragma warning disable CA1031 // a faulty callback must not turn a successful write into a failure
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.CallbackFailed(logger, e, divergence.Kind, strand.Name);
            }
        }
    }
}
