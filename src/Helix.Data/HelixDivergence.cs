using Helix.Data.Replay;

namespace Helix.Data;

/// <summary>
/// A report that the strands differ, or will: passed to <see cref="HelixDataSourceBuilder.OnDivergence"/>, logged and
/// counted. Replay cannot repair these on its own; an operator or a reconciliation job must.
/// </summary>
/// <param name="Kind">How the strands differ.</param>
/// <param name="Strand">The strand that misses the write or holds the odd result.</param>
/// <param name="CommandText">The statement concerned.</param>
/// <param name="Message">What happened, without secrets.</param>
/// <param name="Entry">The replay entry concerned, when there is one.</param>
public sealed record HelixDivergence(
    HelixDivergenceKind Kind,
    HelixStrand Strand,
    string CommandText,
    string Message,
    HelixReplayEntry? Entry);
