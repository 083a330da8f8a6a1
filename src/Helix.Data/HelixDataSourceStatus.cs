namespace Helix.Data;

/// <summary>A snapshot of a <see cref="HelixDataSource"/>: each strand's state and backlog, and the replay counters.</summary>
/// <param name="Strands">The strands, primary first; one entry in single-strand mode.</param>
/// <param name="ReplayApplied">How many replay entries were applied since the data source was built.</param>
/// <param name="ReplayDeadLettered">How many replay entries were set aside because they cannot be applied.</param>
/// <param name="ReplayDropped">How many replay entries were lost because no queue could take them.</param>
/// <param name="Divergences">How many times the strands were seen to differ (see <see cref="HelixDivergence"/>).</param>
public sealed record HelixDataSourceStatus(
    IReadOnlyList<HelixStrandStatus> Strands,
    long ReplayApplied,
    long ReplayDeadLettered,
    long ReplayDropped,
    long Divergences)
{
    /// <summary>Gets the status of one strand.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>Its status.</returns>
    public HelixStrandStatus this[HelixStrand strand] => Strands[(int)strand];

    /// <summary>Gets a value indicating whether every strand is healthy with an empty backlog.</summary>
    public bool IsConverged => Strands.All(s => s.State == HelixStrandState.Healthy && s.Backlog == 0);
}
