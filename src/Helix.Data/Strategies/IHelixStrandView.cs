namespace Helix.Data.Strategies;

/// <summary>
/// What strategies and policies see of a data source's strands: their names, states, backlogs and circuits. Helix
/// passes it to every call; it is cheap to query and reflects the state at the moment of the call.
/// </summary>
public interface IHelixStrandView
{
    /// <summary>Gets how many strands the data source has (2; strategies are not used in single-strand mode).</summary>
    int Count { get; }

    /// <summary>Gets the clock of the data source; use it for cooldowns and timeouts, so tests can control time.</summary>
    TimeProvider TimeProvider { get; }

    /// <summary>Gets the strand's name from <c>Strand Names</c>.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>Its name.</returns>
    string GetName(HelixStrand strand);

    /// <summary>Gets the strand's state.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>Its state.</returns>
    HelixStrandState GetState(HelixStrand strand);

    /// <summary>Gets how many replay entries wait for the strand.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>The backlog.</returns>
    long GetBacklog(HelixStrand strand);

    /// <summary>Gets whether the write strategy has deferred the strand: its writes go through replay.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns><see langword="true"/> when deferred.</returns>
    bool IsDeferred(HelixStrand strand);

    /// <summary>Gets the state of the strand's read circuit, from the failover policy.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>The circuit state.</returns>
    HelixCircuitState GetCircuitState(HelixStrand strand);

    /// <summary>
    /// Gets whether a read may go to the strand: it is <see cref="HelixStrandState.Healthy"/> (so it holds every
    /// acknowledged write) and the failover policy lets reads reach it.
    /// </summary>
    /// <param name="strand">The strand.</param>
    /// <returns><see langword="true"/> when the strand can serve reads.</returns>
    bool CanRead(HelixStrand strand);
}
