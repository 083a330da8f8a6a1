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

    /// <inheritdoc />
    /// <value><see langword="false"/>: a stateless policy keeps no circuit.</value>
    public bool HasCircuits => false;

    /// <inheritdoc />
    /// <value><see langword="true"/>, for a derived policy that overrides <see cref="RecordSuccess"/>.</value>
    public virtual bool ObservesSuccesses => true;

    /// <inheritdoc />
    /// <value><see langword="false"/>: a stateless policy has no latency threshold.</value>
    public virtual bool UsesReadLatency => false;
}
