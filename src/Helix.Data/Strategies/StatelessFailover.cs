namespace Helix.Data.Strategies;

/// <summary>
/// A base for failover policies that keep no circuit: reads may always reach every strand, a read's strand fault marks
/// the strand failed, and only <see cref="ShouldFailover"/> is left to decide. Derive from it for a policy of your own
/// that, for example, fails over on timeouts only.
/// </summary>
public abstract class StatelessFailover : IHelixFailoverPolicy
{
    /// <inheritdoc />
    public virtual bool FailsStrandOnReadFault => true;

    /// <inheritdoc />
    public bool AllowsReads(HelixStrand strand) => true;

    /// <inheritdoc />
    public HelixCircuitState GetCircuitState(HelixStrand strand) => HelixCircuitState.Closed;

    /// <inheritdoc />
    public TimeSpan? GetProbeDelay(HelixStrand strand) => null;

    /// <inheritdoc />
    public virtual void RecordSuccess(HelixStrand strand, TimeSpan elapsed)
    {
    }

    /// <inheritdoc />
    public virtual void RecordFailure(HelixStrand strand, Exception fault)
    {
    }

    /// <inheritdoc />
    public abstract bool ShouldFailover(HelixStrand strand, Exception fault);
}

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
}

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
}
