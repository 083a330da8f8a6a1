namespace Helix.Data.Strategies;

/// <summary>
/// Routes reads (contract section 6): picks the strand a read goes to, and where a read goes after a strand fault
/// once the failover policy has allowed it. Implementations must be thread-safe; one instance serves one data source.
/// </summary>
/// <remarks>
/// Helix enforces what routing must not break: when the strategy returns no strand, a read goes to any strand that
/// <see cref="IHelixStrandView.CanRead"/>, then to any healthy strand, and only then to a stale one (counted and
/// logged as a stale read). A strand the strategy returns that is not healthy is read from, and counted as stale.
/// </remarks>
public interface IHelixReadStrategy
{
    /// <summary>Picks the strand for a read.</summary>
    /// <param name="strands">The strands; prefer those that <see cref="IHelixStrandView.CanRead"/>.</param>
    /// <returns>The strand, or <see langword="null"/> when none can serve the read.</returns>
    HelixStrand? Choose(IHelixStrandView strands);

    /// <summary>
    /// Tells which strand the next read would most likely use, without changing any state (a round-robin counter does
    /// not move). A new connection opens this strand first, so that a connection used only for reads opens one.
    /// Return the same strand to every connection while the strands' states stay the same: a connection holds the
    /// strand it opened first while it waits for the other's pool, and connections that opened different strands first
    /// can wait on each other until the pools' timeouts when both pools are full.
    /// </summary>
    /// <param name="strands">The strands.</param>
    /// <returns>The strand, or <see langword="null"/> when none can serve reads.</returns>
    HelixStrand? Preview(IHelixStrandView strands);

    /// <summary>
    /// A read on <paramref name="failed"/> had a strand fault and the failover policy allowed trying elsewhere: returns
    /// the strand to retry on, or <see langword="null"/> to give the caller the error.
    /// </summary>
    /// <param name="failed">The strand that faulted.</param>
    /// <param name="strands">The strands.</param>
    /// <returns>The strand to retry on.</returns>
    HelixStrand? OnFailure(HelixStrand failed, IHelixStrandView strands);

    /// <summary>A read succeeded on the strand (or the strand refused the statement: it answered).</summary>
    /// <param name="strand">The strand that served the read.</param>
    /// <param name="elapsed">How long the strand took, from getting its connection to the result.</param>
    void OnSuccess(HelixStrand strand, TimeSpan elapsed);

    /// <summary>
    /// Gets a value indicating whether <see cref="OnSuccess"/> does anything. A strategy that keeps no per-read state
    /// returns <see langword="false"/>: reads then spend no call on telling it, and are not timed for it. Asked once,
    /// when the data source is built.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    bool ObservesSuccesses => true;
}
