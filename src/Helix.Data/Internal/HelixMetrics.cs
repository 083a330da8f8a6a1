using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Helix.Data.Internal;

/// <summary>The instruments of the <c>Helix.Data</c> meter. Every measurement carries the strand name it concerns.</summary>
internal static class HelixMetrics
{
    public const string MeterName = "Helix.Data";

    private static readonly Meter Meter = new(MeterName, typeof(HelixMetrics).Assembly.GetName().Version?.ToString());

    public static readonly Counter<long> Writes = Meter.CreateCounter<long>("helix.writes", "{write}", "Writes applied to a strand directly.");
    public static readonly Counter<long> Reads = Meter.CreateCounter<long>("helix.reads", "{read}", "Reads served by a strand.");
    public static readonly Counter<long> StaleReads = Meter.CreateCounter<long>("helix.reads.stale", "{read}", "Reads served by a strand that was not healthy.");
    public static readonly Counter<long> Failovers = Meter.CreateCounter<long>("helix.failovers", "{failover}", "Reads retried on the other strand after a strand fault.");
    public static readonly Counter<long> Divergences = Meter.CreateCounter<long>("helix.divergences", "{divergence}", "Times the strands were seen to differ.");
    public static readonly Counter<long> ReplayEnqueued = Meter.CreateCounter<long>("helix.replay.enqueued", "{entry}", "Replay entries enqueued.");
    public static readonly Counter<long> ReplayApplied = Meter.CreateCounter<long>("helix.replay.applied", "{entry}", "Replay entries applied.");
    public static readonly Counter<long> ReplayFailed = Meter.CreateCounter<long>("helix.replay.failed", "{attempt}", "Replay attempts that failed with a statement error.");
    public static readonly Counter<long> ReplayDeadLettered = Meter.CreateCounter<long>("helix.replay.dead_lettered", "{entry}", "Replay entries set aside.");
    public static readonly Counter<long> ReplayDropped = Meter.CreateCounter<long>("helix.replay.dropped", "{entry}", "Replay entries lost.");

    public static TagList Strand(string name) => new() { { "helix.strand", name } };

    public static TagList Strand(string name, string key, object? value) => new() { { "helix.strand", name }, { key, value } };
}
