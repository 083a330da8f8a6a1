namespace Helix.Data.Strategies;

/// <summary>
/// A <see cref="CircuitBreakerFailover"/> that also counts slow successes as faults (<c>Failover=LatencyCircuitBreaker</c>):
/// a read slower than <see cref="CircuitBreakerFailover.LatencyCap"/> still returns its result, but
/// <see cref="CircuitBreakerFailover.Threshold"/> consecutive slow or failed reads open the circuit and send reads to the
/// other strand. The probe that closes the circuit must be fast too.
/// </summary>
public sealed class LatencyCircuitBreakerFailover : CircuitBreakerFailover
{
    /// <summary>Initializes a new instance of the <see cref="LatencyCircuitBreakerFailover"/> class.</summary>
    /// <param name="latencyCap">Successes slower than this count as faults; default 2 seconds.</param>
    /// <param name="threshold">Consecutive slow or failed reads that open a circuit (at least 1); default 3.</param>
    /// <param name="resetTimeout">How long a circuit stays open before the strand is probed; default 30 seconds.</param>
    /// <param name="timeProvider">The clock; pass the data source's own.</param>
    public LatencyCircuitBreakerFailover(TimeSpan? latencyCap = null, int threshold = Internal.HelixDefaults.CircuitThreshold, TimeSpan? resetTimeout = null, TimeProvider? timeProvider = null)
        : base(threshold, resetTimeout, latencyCap ?? TimeSpan.FromMilliseconds(Internal.HelixDefaults.LatencyCapMilliseconds), timeProvider)
    {
    }
}
