namespace Helix.Data.Operations;

/// <summary>How a row differs between the strands.</summary>
public enum HelixRowDifferenceKind
{
    /// <summary>The row is on the secondary strand only.</summary>
    MissingOnPrimary,

    /// <summary>The row is on the primary strand only.</summary>
    MissingOnSecondary,

    /// <summary>Both strands have the row, with different values.</summary>
    Differs,
}

/// <summary>A row that differs between the strands, by its key.</summary>
/// <param name="Key">The value of the key column.</param>
/// <param name="Kind">How it differs.</param>
public sealed record HelixRowDifference(object Key, HelixRowDifferenceKind Kind);

/// <summary>What <see cref="HelixVerifier.VerifyAsync"/> found in one table.</summary>
/// <param name="Table">The table.</param>
/// <param name="Differences">The rows that differ, in key order of the strand that has them.</param>
/// <param name="Rows">How many rows the primary strand holds.</param>
/// <param name="ChecksumQueries">How many range checksums each strand computed.</param>
/// <param name="ValuesTransferred">How many values (counts, checksums, keys and row hashes) came to the client from both strands: the cost of the comparison on the network.</param>
/// <param name="Elapsed">How long the comparison took.</param>
public sealed record HelixVerifyReport(string Table, IReadOnlyList<HelixRowDifference> Differences, long Rows, int ChecksumQueries, long ValuesTransferred, TimeSpan Elapsed)
{
    /// <summary>Gets a value indicating whether both strands hold the same rows.</summary>
    public bool Identical => Differences.Count == 0;
}
