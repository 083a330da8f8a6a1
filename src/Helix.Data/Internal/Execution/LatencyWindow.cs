namespace Helix.Data.Internal.Execution;

/// <summary>
/// The recent read times of one strand, for <c>Hedge After=Auto</c>: the last 256 reads it answered, and their 95th
/// percentile, worked out again every 32 reads (a sort of 256 numbers) rather than on every read.
/// </summary>
/// <remarks>Written by concurrent reads without a lock: a sample overwritten or read half-updated moves a percentile by one sample, no more.</remarks>
internal sealed class LatencyWindow
{
    private const int Size = 256;
    private const int Every = 32;

    private readonly long[] _ticks = new long[Size];
    private long _count;
    private long _p95 = -1;

    /// <summary>Gets the 95th percentile of the recent reads, or <see langword="null"/> before the first 32.</summary>
    public TimeSpan? Percentile95 => Volatile.Read(ref _p95) is >= 0 and var ticks ? TimeSpan.FromTicks(ticks) : null;

    public void Add(TimeSpan elapsed)
    {
        var n = Interlocked.Increment(ref _count);
        _ticks[(n - 1) % Size] = elapsed.Ticks;
        if (n % Every == 0)
        {
            var sorted = _ticks[..(int)Math.Min(n, Size)];
            Array.Sort(sorted);
            Volatile.Write(ref _p95, sorted[(int)Math.Ceiling(sorted.Length * 0.95) - 1]);
        }
    }
}
