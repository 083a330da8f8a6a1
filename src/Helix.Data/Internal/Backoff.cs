namespace Helix.Data.Internal;

/// <summary>Exponential backoff with jitter: each delay is drawn between half and all of the current step.</summary>
internal sealed class Backoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _maximum;
    private TimeSpan _step;

    public Backoff(TimeSpan initial, TimeSpan maximum)
    {
        _initial = initial;
        _maximum = maximum;
        _step = initial;
    }

    public TimeSpan Next()
    {
        var step = _step;
        _step = TimeSpan.FromTicks(Math.Min(step.Ticks * 2, _maximum.Ticks));
        var half = step.Ticks / 2;
        return TimeSpan.FromTicks(half + Random.Shared.NextInt64(0, Math.Max(1, step.Ticks - half)));
    }

    public void Reset() => _step = _initial;
}
