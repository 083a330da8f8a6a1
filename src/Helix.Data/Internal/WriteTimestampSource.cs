namespace Helix.Data.Internal;

/// <summary>
/// Hands out the write timestamp bound to <c>helix_ts</c>: microseconds since the Unix epoch, strictly increasing
/// within the process even when the clock stands still or steps back.
/// </summary>
internal sealed class WriteTimestampSource(Func<long> nowMicroseconds)
{
    private long _last;

    public static Func<long> FromTimeProvider(TimeProvider timeProvider) =>
        () => (timeProvider.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;

    public long Next()
    {
        var now = nowMicroseconds();
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var next = now > last ? now : last + 1;
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
            {
                return next;
            }
        }
    }
}
