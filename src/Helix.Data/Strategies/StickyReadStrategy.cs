namespace Helix.Data.Strategies;

/// <summary>
/// Reads stay on one strand per data source (the preferred strand, or one chosen at random), so that its caches stay
/// warm. When that strand cannot serve reads, they go to the other strand and the choice moves there, unless it moved
/// less than the cooldown ago: then only the reads move, and they come back when the chosen strand can serve again.
/// So a flapping strand cannot bounce the choice back and forth. <c>Read Strategy=Sticky</c>, the default.
/// </summary>
public sealed class StickyReadStrategy : IHelixReadStrategy
{
    private readonly Lock _lock = new();
    private int _current;
    private long? _switchedAt;

    /// <summary>Initializes a new instance of the <see cref="StickyReadStrategy"/> class.</summary>
    /// <param name="preferred">The strand to start on; <see langword="null"/> picks one at random.</param>
    /// <param name="cooldown">How long the choice stays put after it moved; <see langword="null"/> for 5 minutes.</param>
    public StickyReadStrategy(HelixStrand? preferred = null, TimeSpan? cooldown = null)
    {
        Cooldown = cooldown ?? TimeSpan.FromSeconds(Internal.HelixDefaults.StickyCooldownSeconds);
        ArgumentOutOfRangeException.ThrowIfLessThan(Cooldown, TimeSpan.Zero, nameof(cooldown));
        _current = preferred is { } p ? (int)p : Random.Shared.Next(2);
    }

    /// <summary>Gets how long the choice stays put after it moved.</summary>
    public TimeSpan Cooldown { get; }

    /// <summary>Gets the strand reads are sticking to.</summary>
    public HelixStrand Current => (HelixStrand)Volatile.Read(ref _current);

    /// <inheritdoc />
    public HelixStrand? Choose(IHelixStrandView strands)
    {
        ArgumentNullException.ThrowIfNull(strands);
        var current = Current;
        if (strands.CanRead(current))
        {
            return current;
        }

        var other = Other(current);
        if (!strands.CanRead(other))
        {
            return null;
        }

        TrySwitch(current, other, strands.TimeProvider);
        return other;
    }

    /// <inheritdoc />
    public HelixStrand? Preview(IHelixStrandView strands)
    {
        ArgumentNullException.ThrowIfNull(strands);
        var current = Current;
        return strands.CanRead(current) ? current : strands.CanRead(Other(current)) ? Other(current) : null;
    }

    /// <inheritdoc />
    public HelixStrand? OnFailure(HelixStrand failed, IHelixStrandView strands)
    {
        ArgumentNullException.ThrowIfNull(strands);
        TrySwitch(failed, Other(failed), strands.TimeProvider);
        return Other(failed);
    }

    /// <inheritdoc />
    public void OnSuccess(HelixStrand strand, TimeSpan elapsed)
    {
    }

    /// <inheritdoc />
    /// <value><see langword="false"/>: the strategy keeps no per-read state.</value>
    public bool ObservesSuccesses => false;

    private static HelixStrand Other(HelixStrand strand) => strand == HelixStrand.Primary ? HelixStrand.Secondary : HelixStrand.Primary;

    private void TrySwitch(HelixStrand from, HelixStrand to, TimeProvider timeProvider)
    {
        lock (_lock)
        {
            var now = timeProvider.GetTimestamp();
            if (_current != (int)from || (_switchedAt is { } at && timeProvider.GetElapsedTime(at, now) < Cooldown))
            {
                return;
            }

            _current = (int)to;
            _switchedAt = now;
        }
    }
}
