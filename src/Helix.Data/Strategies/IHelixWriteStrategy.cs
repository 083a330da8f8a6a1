namespace Helix.Data.Strategies;

/// <summary>
/// Executes writes (contract section 5): decides how the strands that take a write directly run it, and may defer a
/// strand so that its writes go through the ordered replay path instead of keeping callers waiting. Helix keeps the
/// promises around it (a write is acknowledged once a strand applied it; each strand applies acknowledged writes in
/// order), whatever the strategy does. Implementations must be thread-safe; one instance serves one data source.
/// </summary>
public interface IHelixWriteStrategy
{
    /// <summary>Chooses how the strands that take the next write directly run it.</summary>
    /// <param name="strands">The strands.</param>
    /// <returns>The order.</returns>
    HelixWriteOrder GetOrder(IHelixStrandView strands);

    /// <summary>
    /// A write completed: how long each strand took to apply it directly, or <see langword="null"/> for a strand that
    /// did not apply it directly (queued for replay, faulted, refused). Called on the caller's path: return quickly.
    /// </summary>
    /// <param name="primary">The primary's time.</param>
    /// <param name="secondary">The secondary's time.</param>
    /// <param name="control">The strands, and the means to defer or resume one.</param>
    void OnWriteCompleted(TimeSpan? primary, TimeSpan? secondary, IHelixWriteControl control);

    /// <summary>
    /// The replay worker applied entries to a strand, in one round trip that took <paramref name="elapsed"/>. While a
    /// deferred strand has nothing to apply, the worker probes it every poll interval and reports the probe with
    /// <paramref name="entries"/> = 0, so that a strategy can see it has become fast again.
    /// </summary>
    /// <param name="strand">The strand.</param>
    /// <param name="entries">How many entries were applied; 0 for a probe.</param>
    /// <param name="elapsed">How long the round trip took.</param>
    /// <param name="control">The strands, and the means to defer or resume one.</param>
    void OnReplayApplied(HelixStrand strand, int entries, TimeSpan elapsed, IHelixWriteControl control);
}
