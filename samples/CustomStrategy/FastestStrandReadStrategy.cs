using Helix.Data;
using Helix.Data.Strategies;

namespace CustomStrategy;

/// <summary>
/// A custom read strategy: reads go to the strand that has answered reads fastest lately. Every
/// <see cref="ExploreEvery"/>th read goes to the other strand, so that its estimate stays current and traffic comes
/// back when it is fast again. Helix still keeps reads on strands that can serve them (healthy, circuit closed).
/// </summary>
public sealed class FastestStrandReadStrategy : IHelixReadStrategy
{
    private readonly Lock _lock = new();
    private readonly double[] _estimateMs = [double.NaN, double.NaN];
    private long _reads;

    /// <summary>Gets or sets how often a read goes to the slower strand to measure it again.</summary>
    public int ExploreEvery { get; init; } = 20;

    /// <summary>Gets the smoothed read latency of a strand, in milliseconds (NaN before its first read).</summary>
    public double EstimateMs(HelixStrand strand)
    {
        lock (_lock)
        {
            return _estimateMs[(int)strand];
        }
    }

    public HelixStrand? Choose(IHelixStrandView strands)
    {
        var best = Preview(strands);
        if (best is not { } fastest)
        {
            return null;
        }

        var other = Other(fastest);
        var explore = Interlocked.Increment(ref _reads) % ExploreEvery == 0;
        return explore && strands.CanRead(other) ? other : fastest;
    }

    public HelixStrand? Preview(IHelixStrandView strands)
    {
        ArgumentNullException.ThrowIfNull(strands);
        var canPrimary = strands.CanRead(HelixStrand.Primary);
        var canSecondary = strands.CanRead(HelixStrand.Secondary);
        if (canPrimary != canSecondary)
        {
            return canPrimary ? HelixStrand.Primary : HelixStrand.Secondary;
        }

        if (!canPrimary)
        {
            return null;
        }

        lock (_lock)
        {
            // A strand never measured is tried first; otherwise the lower estimate wins, the primary on a tie.
            var (p, s) = (_estimateMs[0], _estimateMs[1]);
            return double.IsNaN(s) && !double.IsNaN(p) ? HelixStrand.Secondary
                : double.IsNaN(p) || p <= s ? HelixStrand.Primary
                : HelixStrand.Secondary;
        }
    }

    public HelixStrand? OnFailure(HelixStrand failed, IHelixStrandView strands) => Other(failed);

    public void OnSuccess(HelixStrand strand, TimeSpan elapsed)
    {
        lock (_lock)
        {
            ref var estimate = ref _estimateMs[(int)strand];
            estimate = double.IsNaN(estimate) ? elapsed.TotalMilliseconds : (0.7 * estimate) + (0.3 * elapsed.TotalMilliseconds);
        }
    }

    private static HelixStrand Other(HelixStrand strand) => strand == HelixStrand.Primary ? HelixStrand.Secondary : HelixStrand.Primary;
}
