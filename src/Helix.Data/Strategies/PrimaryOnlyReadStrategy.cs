namespace Helix.Data.Strategies;

/// <summary>
/// Reads go to the primary; the secondary serves them only while the primary cannot. <c>Read Strategy=PrimaryOnly</c>.
/// </summary>
/// <remarks>
/// With automatic failback (the default, <c>Failback=Automatic</c>) reads return to the primary as soon as it can
/// serve them again: Helix knows when it has caught up, so it holds every acknowledged write. With manual failback
/// (<c>Failback=Manual</c>) reads stay on the secondary after a failover until <see cref="Reset"/> is called, for
/// operators who want to look at the primary before it serves reads again.
/// </remarks>
public sealed class PrimaryOnlyReadStrategy : IHelixReadStrategy
{
    private int _failedOver;

    /// <summary>Initializes a new instance of the <see cref="PrimaryOnlyReadStrategy"/> class.</summary>
    /// <param name="automaticFailback">Whether reads return to the primary by themselves; otherwise only <see cref="Reset"/> brings them back.</param>
    public PrimaryOnlyReadStrategy(bool automaticFailback = true)
    {
        AutomaticFailback = automaticFailback;
    }

    /// <summary>Gets a value indicating whether reads return to the primary by themselves once it can serve them.</summary>
    public bool AutomaticFailback { get; }

    /// <summary>Gets a value indicating whether reads have failed over and stay on the secondary until <see cref="Reset"/>.</summary>
    public bool IsFailedOver => !AutomaticFailback && Volatile.Read(ref _failedOver) != 0;

    /// <summary>Sends reads back to the primary after a failover (manual failback).</summary>
    public void Reset() => Volatile.Write(ref _failedOver, 0);

    /// <inheritdoc />
    public HelixStrand? Choose(IHelixStrandView strands)
    {
        ArgumentNullException.ThrowIfNull(strands);
        if (!IsFailedOver && strands.CanRead(HelixStrand.Primary))
        {
            return HelixStrand.Primary;
        }

        if (strands.CanRead(HelixStrand.Secondary))
        {
            if (!AutomaticFailback)
            {
                Volatile.Write(ref _failedOver, 1);
            }

            return HelixStrand.Secondary;
        }

        return null;
    }

    /// <inheritdoc />
    public HelixStrand? Preview(IHelixStrandView strands)
    {
        ArgumentNullException.ThrowIfNull(strands);
        return !IsFailedOver && strands.CanRead(HelixStrand.Primary) ? HelixStrand.Primary
            : strands.CanRead(HelixStrand.Secondary) ? HelixStrand.Secondary
            : null;
    }

    /// <inheritdoc />
    public HelixStrand? OnFailure(HelixStrand failed, IHelixStrandView strands)
    {
        if (failed == HelixStrand.Primary)
        {
            if (!AutomaticFailback)
            {
                Volatile.Write(ref _failedOver, 1);
            }

            return HelixStrand.Secondary;
        }

        return HelixStrand.Primary;
    }

    /// <inheritdoc />
    public void OnSuccess(HelixStrand strand, TimeSpan elapsed)
    {
    }

    /// <inheritdoc />
    /// <value><see langword="false"/>: the strategy keeps no per-read state.</value>
    public bool ObservesSuccesses => false;
}
