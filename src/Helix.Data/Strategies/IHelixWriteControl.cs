namespace Helix.Data.Strategies;

/// <summary>What a write strategy may change: which strands take writes synchronously.</summary>
public interface IHelixWriteControl : IHelixStrandView
{
    /// <summary>
    /// Defers a healthy strand: its writes go through the ordered replay path, so callers stop waiting for it, and
    /// reads avoid it. Its state becomes <see cref="HelixStrandState.CatchingUp"/>; it stays there until
    /// <see cref="Undefer"/>, then heals as any strand does once its backlog is empty.
    /// </summary>
    /// <param name="strand">The strand.</param>
    /// <param name="reason">Why, for logs and the status.</param>
    /// <returns>
    /// <see langword="false"/> when the strand was not deferred: it is not healthy, or the other strand is not healthy
    /// (one strand always takes writes synchronously), or there is no replay queue.
    /// </returns>
    bool Defer(HelixStrand strand, string reason);

    /// <summary>Ends a deferral: the strand heals once the worker has applied its backlog.</summary>
    /// <param name="strand">The strand.</param>
    void Undefer(HelixStrand strand);
}
