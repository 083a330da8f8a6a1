namespace Helix.Data;

/// <summary>What an error of an inner provider says about the strand that raised it.</summary>
public enum HelixErrorKind
{
    /// <summary>
    /// The strand could not be reached or did not answer (connection refused or reset, timeout, server shutting down,
    /// transient errors). The write is queued for replay and the strand is marked <see cref="HelixStrandState.Failed"/>.
    /// </summary>
    StrandFault = 0,

    /// <summary>
    /// The strand answered and refused this statement (syntax, constraint, permission, bad parameter). Replaying it
    /// would fail the same way.
    /// </summary>
    StatementError = 1,
}
