namespace Helix.Data;

/// <summary>How the strands were seen to differ.</summary>
public enum HelixDivergenceKind
{
    /// <summary>Both strands applied a write, in or out of a transaction, and reported different numbers of affected rows.</summary>
    RowsAffectedDiffer = 0,

    /// <summary>One strand applied a write and the other refused it with a statement error; the entry was dead-lettered.</summary>
    StatementRejected = 1,

    /// <summary>A replay entry failed with statement errors until its attempts ran out, and was dead-lettered.</summary>
    ReplayDeadLettered = 2,

    /// <summary>A replay entry was lost because its queue was full or could not store it.</summary>
    ReplayDropped = 3,

    /// <summary>
    /// A strand left service as <see cref="HelixStrandState.OutOfSync"/>: it misses writes that no replay queue holds,
    /// and only a resynchronisation from the other strand brings it back.
    /// </summary>
    StrandOutOfSync = 4,

    /// <summary>
    /// Both strands applied a write and returned different values (<c>ExecuteScalar</c>'s, an output parameter, or a row
    /// the caller read of <c>INSERT ... RETURNING</c>): a value each database generated for itself, such as a serial or
    /// identity key, a default of <c>now()</c>, a trigger's, or a sequence that moved on one strand only. The rows the
    /// strands keep differ.
    /// </summary>
    ReturnedValuesDiffer = 5,
}
