namespace Helix.Data.Operations;

/// <summary>What <see cref="HelixRepairer"/> repairs, and which strand's row wins.</summary>
public sealed class HelixRepairOptions
{
    /// <summary>Gets or sets the comparison that finds the rows to repair (table, key, columns, granularity).</summary>
    public HelixVerifyOptions Verify { get; set; } = new();

    /// <summary>
    /// Gets or sets a column whose higher value marks the newer row (the <c>helix_ts</c> pattern of docs/replay.md): the
    /// row with the higher value wins, and a row one strand lacks is copied to it. A repair never overwrites a row whose
    /// version has grown since (the write is conditional on it).
    /// </summary>
    public string? VersionColumn { get; set; }

    /// <summary>
    /// Gets or sets the strand whose rows win where <see cref="VersionColumn"/> does not decide (no version column, or
    /// equal versions): its row is copied to the other strand, and a row it lacks is deleted from the other.
    /// </summary>
    public HelixStrand? From { get; set; }

    /// <summary>
    /// Gets or sets where the winning rows are written. <see langword="null"/> (the default): through the data source, to
    /// both strands like any write, so that a strand that faults midway gets the repair by replay. A strand: to that strand
    /// only, directly, bypassing Helix (a resynchronisation, where the other strand holds the truth and this one is out of
    /// service); a fault there stops the repair.
    /// </summary>
    public HelixStrand? WriteTo { get; set; }

    /// <summary>Gets or sets a value indicating whether the repair only says what it would do.</summary>
    public bool DryRun { get; set; }
}

/// <summary>What a repair does to one row.</summary>
public enum HelixRepairActionKind
{
    /// <summary>The winning row is written to both strands (an upsert; the strand that has it is unchanged).</summary>
    Copy,

    /// <summary>The row is deleted from both strands (the winning strand does not have it).</summary>
    Delete,

    /// <summary>Nothing decides which row wins (equal versions and no <see cref="HelixRepairOptions.From"/>): left as it is.</summary>
    Unresolved,
}

/// <summary>What a repair did, or would do, to one row.</summary>
/// <param name="Key">The row's key.</param>
/// <param name="Kind">Copy, delete, or left alone.</param>
/// <param name="Source">The strand whose row won, when one did.</param>
public sealed record HelixRepairAction(object Key, HelixRepairActionKind Kind, HelixStrand? Source);

/// <summary>What <see cref="HelixRepairer.RepairAsync"/> found and did.</summary>
/// <param name="Before">The comparison before the repair.</param>
/// <param name="Actions">One action per differing row.</param>
/// <param name="After">The comparison after the repair, or <see langword="null"/> for a dry run.</param>
public sealed record HelixRepairReport(HelixVerifyReport Before, IReadOnlyList<HelixRepairAction> Actions, HelixVerifyReport? After);
