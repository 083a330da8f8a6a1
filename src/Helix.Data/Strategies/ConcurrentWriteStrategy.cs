namespace Helix.Data.Strategies;

/// <summary>
/// Writes go to every healthy strand at once, and the caller waits for all of them. <c>Write Strategy=Concurrent</c>,
/// the default. Synchronous calls run the strands one after the other, primary first, since running them at once
/// would block a second thread.
/// </summary>
public sealed class ConcurrentWriteStrategy : IHelixWriteStrategy
{
    /// <summary>Gets the shared instance; the strategy has no state.</summary>
    public static ConcurrentWriteStrategy Instance { get; } = new();

    /// <inheritdoc />
    public HelixWriteOrder GetOrder(IHelixStrandView strands) => HelixWriteOrder.Concurrent;

    /// <inheritdoc />
    public void OnWriteCompleted(TimeSpan? primary, TimeSpan? secondary, IHelixWriteControl control)
    {
    }

    /// <inheritdoc />
    public void OnReplayApplied(HelixStrand strand, int entries, TimeSpan elapsed, IHelixWriteControl control)
    {
    }
}
