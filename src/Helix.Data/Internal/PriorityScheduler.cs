using Helix.Data.Replay;

namespace Helix.Data.Internal;

/// <summary>
/// Decides which priority a queue reads from next: high priority first, but after <c>ratio</c> high batches in a row a
/// low batch gets its turn when one waits (strict mode: low only when no high entry waits).
/// </summary>
internal sealed class PriorityScheduler(int ratio, bool strict)
{
    private readonly Lock _lock = new();
    private readonly int[] _highInARow = new int[2];

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

    /// <summary>Records which priority the batch came from.</summary>
    public void Served(HelixStrand strand, HelixReplayPriority priority)
    {
        lock (_lock)
        {
            _highInARow[(int)strand] = priority == HelixReplayPriority.High ? _highInARow[(int)strand] + 1 : 0;
        }
    }
}
