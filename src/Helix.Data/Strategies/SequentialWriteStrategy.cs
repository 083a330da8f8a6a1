namespace Helix.Data.Strategies;

/// <summary>
/// Writes go to one strand, then to the other (<c>Write Strategy=Sequential</c>, order from <c>Write Order</c>). The
/// caller waits for the sum of both; use it when the second strand must not see a write before the first has it.
/// </summary>
public sealed class SequentialWriteStrategy : IHelixWriteStrategy
{
    /// <summary>Initializes a new instance of the <see cref="SequentialWriteStrategy"/> class.</summary>
    /// <param name="first">The strand that applies each write first.</param>
    public SequentialWriteStrategy(HelixStrand first = HelixStrand.Primary)
    {
        First = first;
    }

    /// <summary>Gets the strand that applies each write first.</summary>
    public HelixStrand First { get; }

    /// <inheritdoc />
    public HelixWriteOrder GetOrder(IHelixStrandView strands) =>
        First == HelixStrand.Primary ? HelixWriteOrder.PrimaryFirst : HelixWriteOrder.SecondaryFirst;

    /// <inheritdoc />
    public void OnWriteCompleted(TimeSpan? primary, TimeSpan? secondary, IHelixWriteControl control)
    {
    }

    /// <inheritdoc />
    public void OnReplayApplied(HelixStrand strand, int entries, TimeSpan elapsed, IHelixWriteControl control)
    {
    }
}
