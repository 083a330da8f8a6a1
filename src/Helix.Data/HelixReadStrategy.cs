namespace Helix.Data;

/// <summary>How reads are routed to a strand (connection-string key <c>Read Strategy</c>).</summary>
public enum HelixReadStrategy
{
    /// <summary>
    /// Read from one strand per data source (the preferred strand, or one chosen at random), switching to the other
    /// when it fails; after a switch the choice stays put for the sticky cooldown.
    /// </summary>
    Sticky = 0,

    /// <summary>Read from the primary whenever it is healthy; use the secondary only while it is not.</summary>
    PrimaryOnly = 1,

    /// <summary>Alternate between the healthy strands on every read.</summary>
    RoundRobin = 2,
}
