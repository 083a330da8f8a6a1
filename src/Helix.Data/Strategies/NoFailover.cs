namespace Helix.Data.Strategies;

/// <summary>
/// Never retries a read on the other strand: the caller gets the strand's own error (and may retry; the faulted
/// strand is marked failed, so the retry goes elsewhere). <c>Failover=None</c>.
/// </summary>
public sealed class NoFailover : StatelessFailover
{
    /// <summary>Gets the shared instance; the policy has no state.</summary>
    public static NoFailover Instance { get; } = new();

    /// <inheritdoc />
    public override bool ShouldFailover(HelixStrand strand, Exception fault) => false;

    /// <inheritdoc />
    /// <value><see langword="false"/>: this policy does nothing with a success.</value>
    public override bool ObservesSuccesses => false;
}
