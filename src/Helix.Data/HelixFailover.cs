namespace Helix.Data;

/// <summary>Whether a read that failed on one strand is retried on the other (connection-string key <c>Failover</c>).</summary>
public enum HelixFailover
{
    /// <summary>Always try the other strand after a strand fault.</summary>
    Active = 0,

    /// <summary>Fail over only after <c>Circuit Threshold</c> consecutive failures; the circuit closes after <c>Circuit Reset</c>.</summary>
    CircuitBreaker = 1,

    /// <summary>Like <see cref="CircuitBreaker"/>, and successes slower than <c>Latency Cap</c> count as soft failures.</summary>
    LatencyCircuitBreaker = 2,

    /// <summary>Never try the other strand: the caller sees the error.</summary>
    None = 3,
}
