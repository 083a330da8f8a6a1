using System.Data.Common;

namespace Helix.Data.Operations;

/// <summary>
/// Compares the two strands of a <see cref="HelixDataSource"/> table by table without pulling the table to the client,
/// as data-diff does: each database computes the count and a checksum (a sum of row hashes) of ranges of keys; a range
/// that differs is split in two at its middle key, again and again, until it is small enough to compare row by row by a
/// hash of each row. Identical ranges cost one query per strand; the rows sent back are those that differ, by key.
/// </summary>
/// <remarks>
/// Both strands must use the same provider (PostgreSQL or SQLite): a row's hash is computed from the database's text form
/// of its values. The key must be unique and ordered alike on both strands. A difference is compared again after the
/// data source's replay backlog is empty, until <see cref="HelixVerifyOptions.Settle"/> has passed: what a write in
/// flight or a replay not yet applied explains is not reported.
/// </remarks>
public static class HelixVerifier
{
    /// <summary>Compares one table on both strands of <paramref name="dataSource"/>.</summary>
    /// <param name="dataSource">A two-strand data source.</param>
    /// <param name="options">The table, its key, the columns and the granularity.</param>
    /// <param name="cancellationToken">Cancels the comparison.</param>
    /// <returns>The rows that differ, and what the comparison cost.</returns>
    /// <exception cref="NotSupportedException">The strands' providers differ, or are not PostgreSQL or SQLite.</exception>
    public static async Task<HelixVerifyReport> VerifyAsync(HelixDataSource dataSource, HelixVerifyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (dataSource.IsSingleStrand)
        {
            throw new InvalidOperationException("The data source has one strand: there is nothing to compare it with.");
        }

        var (primary, secondary) = (dataSource.Strands[0], dataSource.Strands[1]);
        if (primary.Factory.GetType() != secondary.Factory.GetType())
        {
            throw new NotSupportedException($"The strands use different providers ({primary.ProviderName}, {secondary.ProviderName}): rows are compared by hashes the databases compute from their text form, which differs between databases.");
        }

        var dialect = VerifyDialect.For(primary.Factory);
        var started = dataSource.TimeProvider.GetTimestamp();
        await using var primaryConnection = await OpenAsync(primary.DataSource, dialect, cancellationToken);
        await using var secondaryConnection = await OpenAsync(secondary.DataSource, dialect, cancellationToken);
        var columns = options.Columns ?? await StrandFaults.RetryAsync(dataSource, () => ColumnsAsync(primaryConnection, options, cancellationToken), cancellationToken);
        var (table, key) = (Identifier.Quote(options.Table), Identifier.Quote(options.KeyColumn));
        var rowHash = dialect.RowHash([key, .. columns.Select(Identifier.Quote)]);
        var comparison = new TableComparison(
            new StrandTable(primaryConnection, table, key, rowHash, dialect.SumOf(rowHash), dataSource),
            new StrandTable(secondaryConnection, table, key, rowHash, dialect.SumOf(rowHash), dataSource),
            options);

        var differences = await comparison.CompareAsync(cancellationToken);
        if (differences.Count > 0)
        {
            differences = await comparison.SettleAsync(dataSource, differences, cancellationToken);
        }

        return new HelixVerifyReport(options.Table, differences, comparison.Rows, comparison.ChecksumQueries, comparison.Transferred, dataSource.TimeProvider.GetElapsedTime(started));
    }

    private static async Task<DbConnection> OpenAsync(DbDataSource source, VerifyDialect dialect, CancellationToken cancellationToken)
    {
        var connection = await source.OpenConnectionAsync(cancellationToken);
        dialect.Prepare(connection);
        return connection;
    }

    /// <summary>Every column of the table but the key, as the primary strand names them.</summary>
    private static async Task<IReadOnlyList<string>> ColumnsAsync(DbConnection connection, HelixVerifyOptions options, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {Identifier.Quote(options.Table)} WHERE 1 = 0";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        if (!columns.Contains(options.KeyColumn, StringComparer.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"The table {options.Table} has no column {options.KeyColumn} (its columns: {string.Join(", ", columns)}).", nameof(options));
        }

        return [.. columns.Where(c => !string.Equals(c, options.KeyColumn, StringComparison.OrdinalIgnoreCase) && Identifier.IsValid(c))];
    }
}
