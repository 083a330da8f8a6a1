namespace Helix.Data.Operations;

/// <summary>What <see cref="HelixVerifier"/> compares, and how finely.</summary>
public sealed class HelixVerifyOptions
{
    /// <summary>Gets or sets the table, optionally schema-qualified (<c>public.orders</c>).</summary>
    public string Table { get; set; } = string.Empty;

    /// <summary>Gets or sets the key column: unique, not null, and ordered the same way on both strands.</summary>
    public string KeyColumn { get; set; } = "id";

    /// <summary>Gets or sets the columns compared besides the key; <see langword="null"/> compares every column.</summary>
    public IReadOnlyList<string>? Columns { get; set; }

    /// <summary>Gets or sets how many rows each top-level range holds (its checksum is one query per strand).</summary>
    /// <value>The default value is 10,000.</value>
    public int ChunkRows { get; set; } = 10_000;

    /// <summary>Gets or sets the size under which a range that differs is compared row by row (a hash per row) instead of split again.</summary>
    /// <value>The default value is 64.</value>
    public int RowByRowBelow { get; set; } = 64;

    /// <summary>
    /// Gets or sets how long a difference may take to go away before it is reported: a write between the two strands'
    /// reads, or one a strand still has to replay, makes a difference that is not one. Differing rows are compared
    /// again until then, after the data source's replay backlog is empty. When the backlog does not empty in that time (a
    /// strand is down, drained or out of sync), what differs then is reported; <see cref="TimeSpan.Zero"/> reports the
    /// differences as found.
    /// </summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan Settle { get; set; } = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
        if (!Identifier.IsValid(Table))
        {
            throw new ArgumentException($"'{Table}' is not a table name Helix can verify: letters, digits, '_' and one '.' between a schema and a table.", nameof(Table));
        }

        foreach (var column in (IEnumerable<string>)[KeyColumn, .. Columns ?? []])
        {
            if (!Identifier.IsValid(column) || column.Contains('.', StringComparison.Ordinal))
            {
                throw new ArgumentException($"'{column}' is not a column name Helix can verify: letters, digits and '_'.", nameof(Columns));
            }
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(ChunkRows, 2, nameof(ChunkRows));
        ArgumentOutOfRangeException.ThrowIfLessThan(RowByRowBelow, 1, nameof(RowByRowBelow));
        ArgumentOutOfRangeException.ThrowIfLessThan(Settle, TimeSpan.Zero, nameof(Settle));
    }
}

/// <summary>Names that go into the SQL Helix writes: checked, then quoted.</summary>
internal static class Identifier
{
    public static bool IsValid(string name) =>
        name.Length is > 0 and <= 128 && name.Split('.') is { Length: <= 2 } parts
        && parts.All(p => p.Length > 0 && (char.IsAsciiLetter(p[0]) || p[0] == '_') && p.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'));

    public static string Quote(string name) => string.Join('.', name.Split('.').Select(p => "\"" + p + "\""));
}
