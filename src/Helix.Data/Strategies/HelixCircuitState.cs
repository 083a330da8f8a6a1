namespace Helix.Data.Strategies;

/// <summary>The state of a strand's read circuit, as a failover policy keeps it.</summary>
public enum HelixCircuitState
{
    /// <summary>Reads may go to the strand.</summary>
    Closed = 0,

    /// <summary>Reads avoid the strand until the policy's reset timeout has passed.</summary>
    Open = 1,

    /// <summary>The reset timeout has passed; Helix probes the strand and the probe's outcome closes or reopens the circuit.</summary>
    HalfOpen = 2,
}
