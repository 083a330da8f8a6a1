namespace Helix.Data.Operations;

/// <summary>What <see cref="HelixResync"/> brings back, and from where.</summary>
public sealed class HelixResyncOptions
{
    /// <summary>Gets or sets the strand to bring back; the other strand holds the truth.</summary>
    public HelixStrand Strand { get; set; } = HelixStrand.Secondary;

    /// <summary>
    /// Gets or sets the tables to resynchronise (schema-qualified where needed); <see langword="null"/>: every table of the
    /// other strand. Each needs a one-column primary key; a table without one is reported and left alone.
    /// </summary>
    public IReadOnlyList<string>? Tables { get; set; }

    /// <summary>
    /// Gets or sets a version column (<c>helix_ts</c>) that every table has: a row of the strand being brought back that
    /// is newer than the other strand's is then kept. <see langword="null"/>: the other strand's row always wins.
    /// </summary>
    public string? VersionColumn { get; set; }

    /// <summary>
    /// Gets or sets a file that records the tables done, so that an interrupted resynchronisation resumes where it stopped
    /// (the same file, the same strand); it is deleted once every table is identical. <see langword="null"/>: not resumable.
    /// </summary>
    public string? StateFile { get; set; }

    /// <summary>Gets or sets how many repair passes a table gets while writes keep changing it before it is reported as differing.</summary>
    /// <value>The default value is 3.</value>
    public int Passes { get; set; } = 3;

    /// <summary>Gets or sets the granularity of each table's comparison (<see cref="HelixVerifyOptions.ChunkRows"/>).</summary>
    /// <value>The default value is 10,000.</value>
    public int ChunkRows { get; set; } = 10_000;
}

/// <summary>What a resynchronisation did to one table.</summary>
/// <param name="Table">The table.</param>
/// <param name="KeyColumn">Its primary key column, or <see langword="null"/> when it has no one-column key (left alone).</param>
/// <param name="RowsRepaired">The rows written or deleted on the strand brought back.</param>
/// <param name="Identical">Whether the table is identical on both strands now.</param>
/// <param name="Resumed">Whether an earlier, interrupted run had done it already (recorded in the state file).</param>
public sealed record HelixResyncTable(string Table, string? KeyColumn, int RowsRepaired, bool Identical, bool Resumed);

/// <summary>What <see cref="HelixResync.RunAsync"/> did.</summary>
/// <param name="Strand">The strand brought back.</param>
/// <param name="Tables">Each table, in name order.</param>
/// <param name="ReturnedToService">Whether this data source had the strand out of sync and returned it to service.</param>
public sealed record HelixResyncReport(HelixStrand Strand, IReadOnlyList<HelixResyncTable> Tables, bool ReturnedToService)
{
    /// <summary>Gets a value indicating whether every table is identical on both strands.</summary>
    public bool Identical => Tables.All(t => t.Identical);
}
