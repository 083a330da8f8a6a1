using System.Globalization;

namespace Helix.Data.Strategies;

/// <summary>
/// Writes run on both strands at once, like <see cref="ConcurrentWriteStrategy"/>, until one strand turns slow: then it
/// is deferred, its writes go through the ordered replay path, and callers wait only for the fast strand
/// (<c>Write Strategy=Adaptive</c>).
/// </summary>
/// <remarks>
/// <para>
/// A strand is deferred when one write on it takes longer than <see cref="HelixAdaptiveOptions.Cap"/> (and no less than
/// on the other strand), or when it is slower than the other strand by more than <see cref="HelixAdaptiveOptions.Delta"/>
/// for <see cref="HelixAdaptiveOptions.Strikes"/> writes in a row; differences are ignored while both strands are under
/// <see cref="HelixAdaptiveOptions.Floor"/>. Only one strand is ever deferred: the other takes writes synchronously.
/// </para>
/// <para>
/// While deferred, the strand is <see cref="HelixStrandState.CatchingUp"/> (reads avoid it) and the worker applies its
/// writes as they come. After <see cref="HelixAdaptiveOptions.Recovery"/> fast applies in a row (or fast probes, when
/// there is nothing to apply), the deferral ends and the strand heals once its backlog is empty. An apply is fast when
/// it is under the cap, and under the floor or within the delta of the other strand's recent write latency.
/// </para>
/// </remarks>
public sealed class AdaptiveWriteStrategy : IHelixWriteStrategy
{
    private readonly Lock _lock = new();
    private readonly int[] _strikes = new int[2];
    private readonly int[] _fastApplies = new int[2];
    private readonly double[] _recentTicks = [double.NaN, double.NaN];

    /// <summary>Initializes a new instance of the <see cref="AdaptiveWriteStrategy"/> class.</summary>
    /// <param name="options">The thresholds; <see langword="null"/> for the defaults.</param>
    public AdaptiveWriteStrategy(HelixAdaptiveOptions? options = null)
    {
        Options = options ?? new HelixAdaptiveOptions();
        Options.Validate();
    }

    /// <summary>Gets the thresholds.</summary>
    public HelixAdaptiveOptions Options { get; }

    /// <summary>Gets the strikes the strand has in a row.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>The strikes.</returns>
    public int GetStrikes(HelixStrand strand)
    {
        lock (_lock)
        {
            return _strikes[(int)strand];
        }
    }

    /// <summary>Gets the fast applies in a row the strand has had while deferred.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>The count.</returns>
    public int GetFastApplies(HelixStrand strand)
    {
        lock (_lock)
        {
            return _fastApplies[(int)strand];
        }
    }

    /// <inheritdoc />
    public HelixWriteOrder GetOrder(IHelixStrandView strands) => HelixWriteOrder.Concurrent;

    /// <inheritdoc />
    public void OnWriteCompleted(TimeSpan? primary, TimeSpan? secondary, IHelixWriteControl control)
    {
        ArgumentNullException.ThrowIfNull(control);
        (HelixStrand Strand, string Reason)? defer = null;
        lock (_lock)
        {
            Remember(HelixStrand.Primary, primary);
            Remember(HelixStrand.Secondary, secondary);
            if (primary is not { } p || secondary is not { } s)
            {
                return;
            }

            defer = Judge(HelixStrand.Primary, p, s, control) ?? Judge(HelixStrand.Secondary, s, p, control);
            if (defer is { } d)
            {
                _strikes[(int)d.Strand] = 0;
                _fastApplies[(int)d.Strand] = 0;
            }
        }

        if (defer is { } chosen)
        {
            control.Defer(chosen.Strand, chosen.Reason);
        }
    }

    /// <inheritdoc />
    public void OnReplayApplied(HelixStrand strand, int entries, TimeSpan elapsed, IHelixWriteControl control)
    {
        ArgumentNullException.ThrowIfNull(control);
        if (!control.IsDeferred(strand))
        {
            return;
        }

        bool resume;
        lock (_lock)
        {
            var recent = _recentTicks[1 - (int)strand];
            var other = double.IsNaN(recent) ? TimeSpan.Zero : TimeSpan.FromTicks((long)recent);
            var fast = elapsed <= Options.Cap && (elapsed < Options.Floor || elapsed - other <= Options.Delta);
            _fastApplies[(int)strand] = fast ? _fastApplies[(int)strand] + 1 : 0;
            resume = _fastApplies[(int)strand] >= Options.Recovery;
            if (resume)
            {
                _fastApplies[(int)strand] = 0;
            }
        }

        if (resume)
        {
            control.Undefer(strand);
        }
    }

    private static string Ms(TimeSpan value) => value.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";

    // Under the lock: a strand's recent direct write latency, smoothed, for judging replay applies against.
    private void Remember(HelixStrand strand, TimeSpan? elapsed)
    {
        if (elapsed is { } value)
        {
            ref var recent = ref _recentTicks[(int)strand];
            recent = double.IsNaN(recent) ? value.Ticks : (0.8 * recent) + (0.2 * value.Ticks);
        }
    }

    // Under the lock: whether this write makes the strand deferred.
    private (HelixStrand, string)? Judge(HelixStrand strand, TimeSpan mine, TimeSpan other, IHelixStrandView strands)
    {
        var index = (int)strand;
        var name = strands.GetName(strand);
        var otherName = strands.GetName(strand == HelixStrand.Primary ? HelixStrand.Secondary : HelixStrand.Primary);
        if (mine > Options.Cap && mine >= other)
        {
            return (strand, $"a write took {Ms(mine)} on {name}, above the adaptive cap of {Ms(Options.Cap)} ({otherName}: {Ms(other)})");
        }

        if (mine < Options.Floor && other < Options.Floor)
        {
            _strikes[index] = 0;
            return null;
        }

        if (mine - other <= Options.Delta)
        {
            _strikes[index] = 0;
            return null;
        }

        return ++_strikes[index] >= Options.Strikes
            ? (strand, $"{name} was slower than {otherName} by more than {Ms(Options.Delta)} for {Options.Strikes} writes in a row (last: {Ms(mine)} against {Ms(other)})")
            : null;
    }
}
