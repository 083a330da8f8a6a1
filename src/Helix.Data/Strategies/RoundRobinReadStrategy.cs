namespace Helix.Data.Strategies;

/// <summary>Reads alternate between the strands that can serve them, spreading the load. <c>Read Strategy=RoundRobin</c>.</summary>
public sealed class RoundRobinReadStrategy : IHelixReadStrategy
{
    private uint _next;

    /// <inheritdoc />
    public HelixStrand? Choose(IHelixStrandView strands)
    {
        ArgumentNullException.ThrowIfNull(strands);
        return Pick(strands, Interlocked.Increment(ref _next));
    }

    /// <inheritdoc />
    /// <remarks>
    /// The primary while it can serve reads, whatever the turn: every connection then opens its strands in one order. A
    /// preview that alternated made half the connections hold the secondary while waiting for the primary and half the
    /// reverse, which deadlocked until the pools' timeouts once both pools were full (contract amendment 41).
    /// </remarks>
    public HelixStrand? Preview(IHelixStrandView strands)
    {
        ArgumentNullException.ThrowIfNull(strands);
        return Pick(strands, (uint)HelixStrand.Primary);
    }

    /// <inheritdoc />
    public HelixStrand? OnFailure(HelixStrand failed, IHelixStrandView strands) =>
        failed == HelixStrand.Primary ? HelixStrand.Secondary : HelixStrand.Primary;

    /// <inheritdoc />
    public void OnSuccess(HelixStrand strand, TimeSpan elapsed)
    {
    }

    /// <inheritdoc />
    /// <value><see langword="false"/>: the strategy keeps no per-read state.</value>
    public bool ObservesSuccesses => false;

    private static HelixStrand? Pick(IHelixStrandView strands, uint turn)
    {
        var first = (HelixStrand)(turn % 2);
        var second = first == HelixStrand.Primary ? HelixStrand.Secondary : HelixStrand.Primary;
        return strands.CanRead(first) ? first : strands.CanRead(second) ? second : null;
    }
}
