using Helix.Data.Replay;

namespace Helix.Data.Internal;

/// <summary>
/// Decides which priority a queue reads from next: high priority first, but after <c>ratio</c> high batches in a row a
/// low batch gets its turn when one waits (strict mode: low only when no high entry waits).
/// </summary>
/// <remarks>
/// A batch counts once an entry of it is completed, not when it is read: a strand that is down gets the same batch
/// read again and again while the worker retries it, and counting those reads would hand the next turn to low priority
/// the moment the strand returns.
/// </remarks>
internal sealed class PriorityScheduler(int ratio, bool strict)
{
    private readonly Lock _lock = new();
    private readonly int[] _highInARow = new int[2];
    private readonly HelixReplayPriority?[] _uncounted = new HelixReplayPriority?[2];

    /// <summary>The priorities to try, in order, for the next batch of a strand.</summary>
    public HelixReplayPriority[] Order(HelixStrand strand)
    {
        lock (_lock)
        {
            return !strict && _highInARow[(int)strand] >= ratio
                ? [HelixReplayPriority.Low, HelixReplayPriority.High]
                : [HelixReplayPriority.High, HelixReplayPriority.Low];
        }
    }

    /// <summary>Records which priority the batch just read came from; it counts when one of its entries completes.</summary>
    public void Read(HelixStrand strand, HelixReplayPriority priority)
    {
        lock (_lock)
        {
            _uncounted[(int)strand] = priority;
        }
    }

    /// <summary>An entry was completed (applied, or set aside): the batch it came from counts, once.</summary>
    public void Completed(HelixReplayEntry entry)
    {
        lock (_lock)
        {
            var strand = (int)entry.Strand;
            if (_uncounted[strand] == entry.Priority)
            {
                _uncounted[strand] = null;
                _highInARow[strand] = entry.Priority == HelixReplayPriority.High ? _highInARow[strand] + 1 : 0;
            }
        }
    }
}
