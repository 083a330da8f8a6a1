namespace Helix.Data.Strategies;

/// <summary>
/// Always retries a read that met a strand fault on the other strand, and marks the faulted strand failed so that
/// reads avoid it until the replay worker has probed it back. <c>Failover=Active</c>, the default.
/// </summary>
public sealed class ActiveFailover : StatelessFailover
{
    /// <summary>Gets the shared instance; the policy has no state.</summary>
    public static ActiveFailover Instance { get; } = new();

    /// <inheritdoc />
    public override bool ShouldFailover(HelixStrand strand, Exception fault) => true;

    /// <inheritdoc />
    /// <value><see langword="false"/>: this policy does nothing with a success.</value>
    public override bool ObservesSuccesses => false;
}
