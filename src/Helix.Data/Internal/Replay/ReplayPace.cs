namespace Helix.Data.Internal.Replay;

/// <summary>
/// The <c>Replay Rate</c> of one strand: a token bucket on the data source's clock that holds at most one second's worth
/// of entries, so that the worker applies at most the rate on average and never more than a second's worth at once.
/// </summary>
internal sealed class ReplayPace(int entriesPerSecond, TimeProvider timeProvider)
{
    private double _tokens = entriesPerSecond;
    private long _refilled = timeProvider.GetTimestamp();

    /// <summary>How many of <paramref name="wanted"/> entries may be read and applied now (0 when the worker must wait).</summary>
    public int Allowed(int wanted)
    {
        Refill();
        return (int)Math.Min(wanted, Math.Floor(_tokens));
    }

    /// <summary>How long until one more entry may be applied.</summary>
    public TimeSpan UntilNext()
    {
        Refill();
        return _tokens >= 1 ? TimeSpan.Zero : TimeSpan.FromSeconds((1 - _tokens) / entriesPerSecond);
    }

    /// <summary>Spends the tokens of entries read for applying.</summary>
    public void Spend(int count) => _tokens -= count;

    private void Refill()
    {
        var now = timeProvider.GetTimestamp();
        _tokens = Math.Min(entriesPerSecond, _tokens + (timeProvider.GetElapsedTime(_refilled, now).TotalSeconds * entriesPerSecond));
        _refilled = now;
    }
}
