using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Helix.Data.Strategies;

namespace Helix.Data.Internal;

/// <summary>
/// The instruments of the <c>Helix.Data</c> meter (contract section 9). Every measurement carries the strand it concerns
/// (<c>helix.strand</c>) and the data source's name (<c>helix.data_source</c>); durations are in seconds.
/// </summary>
internal static class HelixMetrics
{
    public const string MeterName = "Helix.Data";
    public const string StrandTag = "helix.strand";
    public const string DataSourceTag = "helix.data_source";

    private static readonly Meter Meter = new(MeterName, typeof(HelixMetrics).Assembly.GetName().Version?.ToString());
    private static readonly ConcurrentDictionary<HelixDataSource, byte> Live = new();

    // Histogram buckets for database round trips: 0.5 ms to 10 s.
    private static readonly InstrumentAdvice<double> DurationAdvice = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    public static readonly Counter<long> Writes = Meter.CreateCounter<long>("helix.writes", "{write}", "Writes applied to a strand directly.");
    public static readonly Counter<long> Reads = Meter.CreateCounter<long>("helix.reads", "{read}", "Reads served by a strand.");
    public static readonly Counter<long> StaleReads = Meter.CreateCounter<long>("helix.reads.stale", "{read}", "Reads served by a strand that was not healthy.");
    public static readonly Counter<long> Failovers = Meter.CreateCounter<long>("helix.failovers", "{failover}", "Reads retried on the other strand after a strand fault; tagged with the strand that faulted.");
    public static readonly Counter<long> StrandRetries = Meter.CreateCounter<long>("helix.strand.retries", "{retry}", "Statements run again on the same strand after a strand fault (Strand Retry).");
    public static readonly Counter<long> HedgesStarted = Meter.CreateCounter<long>("helix.reads.hedged", "{hedge}", "Reads also sent to the other strand because the first had not answered in time (Hedge After); tagged with the strand that was slow.");
    public static readonly Counter<long> HedgesWon = Meter.CreateCounter<long>("helix.reads.hedge_won", "{hedge}", "Hedged reads the other strand answered first; tagged with the strand that won.");
    public static readonly Counter<long> Divergences = Meter.CreateCounter<long>("helix.divergences", "{divergence}", "Times the strands were seen to differ.");
    public static readonly Counter<long> ReplayEnqueued = Meter.CreateCounter<long>("helix.replay.enqueued", "{entry}", "Replay entries enqueued.");
    public static readonly Counter<long> ReplayApplied = Meter.CreateCounter<long>("helix.replay.applied", "{entry}", "Replay entries applied.");
    public static readonly Counter<long> ReplayFailed = Meter.CreateCounter<long>("helix.replay.failed", "{attempt}", "Replay attempts that failed with a statement error.");
    public static readonly Counter<long> ReplayDeadLettered = Meter.CreateCounter<long>("helix.replay.dead_lettered", "{entry}", "Replay entries set aside.");
    public static readonly Counter<long> ReplayDropped = Meter.CreateCounter<long>("helix.replay.dropped", "{entry}", "Replay entries lost.");
    public static readonly Counter<long> Deferrals = Meter.CreateCounter<long>("helix.strand.deferrals", "{deferral}", "Times the write strategy deferred a strand.");
    public static readonly Counter<long> CircuitTransitions = Meter.CreateCounter<long>("helix.circuit.transitions", "{transition}", "Changes of a strand's read circuit; tagged with the new state (helix.circuit.state).");

    public static readonly Histogram<double> CommandDuration = Meter.CreateHistogram(
        "helix.command.duration", "s", "How long callers waited for a command, tagged with the strand that answered and helix.operation (read, write).", advice: DurationAdvice);

    public static readonly Histogram<double> StrandDuration = Meter.CreateHistogram(
        "helix.strand.duration", "s", "How long a strand took to execute a command directly, tagged with helix.operation.", advice: DurationAdvice);

    public static readonly Histogram<double> ReplayDuration = Meter.CreateHistogram(
        "helix.replay.duration", "s", "How long the replay worker took to apply a batch of entries to a strand.", advice: DurationAdvice);

    static HelixMetrics()
    {
        Meter.CreateObservableGauge("helix.replay.backlog", ObserveBacklog, "{entry}", "Replay entries waiting for a strand.");
        Meter.CreateObservableGauge("helix.strand.state", ObserveStates, "{state}", "1 for the state a strand is in (helix.strand.state), 0 for the others.");
        Meter.CreateObservableGauge("helix.circuit.state", ObserveCircuits, "{state}", "1 for the state of a strand's read circuit (helix.circuit.state), 0 for the others.");
        Meter.CreateObservableGauge("helix.strand.deferred", ObserveDeferred, "{strand}", "1 while the write strategy defers a strand, else 0.");
    }

    /// <summary>Data sources whose strands the observable instruments report, from creation to disposal.</summary>
    public static void Register(HelixDataSource dataSource) => Live.TryAdd(dataSource, 0);

    public static void Unregister(HelixDataSource dataSource) => Live.TryRemove(dataSource, out _);

    /// <summary>The tags of measurements about one strand of a data source.</summary>
    public static KeyValuePair<string, object?>[] TagsFor(string dataSource, string strand) => [new(StrandTag, strand), new(DataSourceTag, dataSource)];

    /// <summary>A strand's tags plus one more.</summary>
    public static KeyValuePair<string, object?>[] With(KeyValuePair<string, object?>[] tags, string key, object? value) => [.. tags, new(key, value)];

    public static string CircuitStateName(HelixCircuitState state) => state switch
    {
        HelixCircuitState.Open => "open",
        HelixCircuitState.HalfOpen => "half_open",
        _ => "closed",
    };

    public static string StateName(HelixStrandState state) => state switch
    {
        HelixStrandState.Failed => "failed",
        HelixStrandState.CatchingUp => "catching_up",
        HelixStrandState.Draining => "draining",
        HelixStrandState.OutOfSync => "out_of_sync",
        _ => "healthy",
    };

    private static IEnumerable<Measurement<long>> ObserveBacklog()
    {
        foreach (var dataSource in Live.Keys)
        {
            foreach (var strand in dataSource.Strands)
            {
                yield return new(strand.Controller.Backlog, strand.MetricTags);
            }
        }
    }

    private static IEnumerable<Measurement<int>> ObserveStates()
    {
        foreach (var dataSource in Live.Keys)
        {
            foreach (var strand in dataSource.Strands)
            {
                var state = strand.State;
                foreach (var candidate in Enum.GetValues<HelixStrandState>())
                {
                    yield return new(candidate == state ? 1 : 0, With(strand.MetricTags, "helix.strand.state", StateName(candidate)));
                }
            }
        }
    }

    private static IEnumerable<Measurement<int>> ObserveCircuits()
    {
        foreach (var dataSource in Live.Keys)
        {
            if (dataSource.IsSingleStrand)
            {
                continue;
            }

            foreach (var strand in dataSource.Strands)
            {
                var state = dataSource.Reads!.Policy.GetCircuitState(strand.Id);
                foreach (var candidate in Enum.GetValues<HelixCircuitState>())
                {
                    yield return new(candidate == state ? 1 : 0, With(strand.MetricTags, "helix.circuit.state", CircuitStateName(candidate)));
                }
            }
        }
    }

    private static IEnumerable<Measurement<int>> ObserveDeferred()
    {
        foreach (var dataSource in Live.Keys)
        {
            foreach (var strand in dataSource.Strands)
            {
                yield return new(strand.Controller.IsDeferred ? 1 : 0, strand.MetricTags);
            }
        }
    }
}
