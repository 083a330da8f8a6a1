namespace Helix.Data.Strategies;

/// <summary>The thresholds of <see cref="AdaptiveWriteStrategy"/>.</summary>
public sealed class HelixAdaptiveOptions
{
    /// <summary>Gets or sets by how much a strand must be slower than the other to earn a strike (<c>Adaptive Delta</c>, default 300 ms).</summary>
    public TimeSpan Delta { get; set; } = TimeSpan.FromMilliseconds(Internal.HelixDefaults.AdaptiveDeltaMilliseconds);

    /// <summary>Gets or sets how many strikes in a row defer a strand (<c>Adaptive Strikes</c>, default 3).</summary>
    public int Strikes { get; set; } = Internal.HelixDefaults.AdaptiveStrikes;

    /// <summary>Gets or sets the latency above which one write defers a strand outright (<c>Adaptive Cap</c>, default 2 s).</summary>
    public TimeSpan Cap { get; set; } = TimeSpan.FromMilliseconds(Internal.HelixDefaults.AdaptiveCapMilliseconds);

    /// <summary>Gets or sets the latency under which differences do not count (<c>Adaptive Floor</c>, default 100 ms).</summary>
    public TimeSpan Floor { get; set; } = TimeSpan.FromMilliseconds(Internal.HelixDefaults.AdaptiveFloorMilliseconds);

    /// <summary>Gets or sets how many fast replay applies in a row end a deferral (<c>Adaptive Recovery</c>, default 5).</summary>
    public int Recovery { get; set; } = Internal.HelixDefaults.AdaptiveRecovery;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Delta, TimeSpan.Zero, nameof(Delta));
        ArgumentOutOfRangeException.ThrowIfLessThan(Strikes, 1, nameof(Strikes));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Cap, TimeSpan.Zero, nameof(Cap));
        ArgumentOutOfRangeException.ThrowIfLessThan(Floor, TimeSpan.Zero, nameof(Floor));
        ArgumentOutOfRangeException.ThrowIfLessThan(Recovery, 1, nameof(Recovery));
    }
}
