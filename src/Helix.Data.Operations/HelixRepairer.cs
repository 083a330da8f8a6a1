using System.Data.Common;

namespace Helix.Data.Operations;

/// <summary>
/// Makes the rows that differ between the strands equal: finds them with <see cref="HelixVerifier"/>, picks the winning
/// row of each (<see cref="HelixRepairOptions.VersionColumn"/>, else <see cref="HelixRepairOptions.From"/>), and writes it
/// through the data source like any write, so that a strand that faults midway gets the repair by replay. Then verifies
/// again.
/// </summary>
public static class HelixRepairer
{
    /// <summary>Repairs one table.</summary>
    /// <param name="dataSource">A two-strand data source of PostgreSQL or SQLite strands.</param>
    /// <param name="options">The table, and which row wins.</param>
    /// <param name="cancellationToken">Cancels the repair; writes already made stay.</param>
    /// <returns>The comparison before, what was done per row, and the comparison after.</returns>
    public static async Task<HelixRepairReport> RepairAsync(HelixDataSource dataSource, HelixRepairOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        if (options.VersionColumn is null && options.From is null)
        {
            throw new ArgumentException("Say which row wins: a VersionColumn (the newer row wins) or From (that strand's rows win), or both.", nameof(options));
        }

        if (options.VersionColumn is { } version && (!Identifier.IsValid(version) || version.Contains('.', StringComparison.Ordinal)))
        {
            throw new ArgumentException($"'{version}' is not a column name Helix can use: letters, digits and '_'.", nameof(options));
        }

        var before = await HelixVerifier.VerifyAsync(dataSource, options.Verify, cancellationToken);
        if (before.Identical)
        {
            return new HelixRepairReport(before, [], options.DryRun ? null : before);
        }

        var rows = new RowReader(dataSource, options.Verify);
        var actions = new List<HelixRepairAction>();
        await using (var connection = options.WriteTo is { } only ? await dataSource.GetStrand(only).DataSource.OpenConnectionAsync(cancellationToken) : await dataSource.OpenConnectionAsync(cancellationToken))
        {
            foreach (var difference in before.Differences)
            {
                var (primary, secondary) = await rows.ReadAsync(difference.Key, cancellationToken);
                var action = Decide(difference.Key, primary, secondary, options);
                actions.Add(action);
                if (!options.DryRun && action.Kind != HelixRepairActionKind.Unresolved)
                {
                    await WriteAsync(connection, options, action, action.Source == HelixStrand.Primary ? primary : secondary, cancellationToken);
                }
            }
        }

        var after = options.DryRun ? null : await HelixVerifier.VerifyAsync(dataSource, options.Verify, cancellationToken);
        return new HelixRepairReport(before, actions, after);
    }

    /// <summary>Which row wins: the newer by the version column, else the one of <see cref="HelixRepairOptions.From"/>.</summary>
    private static HelixRepairAction Decide(object key, IReadOnlyDictionary<string, object?>? primary, IReadOnlyDictionary<string, object?>? secondary, HelixRepairOptions options)
    {
        if (options.VersionColumn is { } version)
        {
            var order = (primary, secondary) switch
            {
                (not null, null) => 1,
                (null, not null) => -1,
                _ => Comparer<object>.Default.Compare(Version(primary, version), Version(secondary, version)),
            };
            if (order != 0)
            {
                return new(key, HelixRepairActionKind.Copy, order > 0 ? HelixStrand.Primary : HelixStrand.Secondary);
            }
        }

        if (options.From is not { } from)
        {
            return new(key, HelixRepairActionKind.Unresolved, null);
        }

        var winner = from == HelixStrand.Primary ? primary : secondary;
        return new(key, winner is null ? HelixRepairActionKind.Delete : HelixRepairActionKind.Copy, from);
    }

    private static object? Version(IReadOnlyDictionary<string, object?>? row, string column) =>
        row!.TryGetValue(column, out var value) ? (value is DBNull ? null : value)
        : throw new ArgumentException($"The table has no version column {column}.", nameof(column));

    /// <summary>Writes the winning row (an upsert, conditional on the version), or deletes the row, on the connection: both strands through Helix, or the one of <see cref="HelixRepairOptions.WriteTo"/>.</summary>
    private static async Task WriteAsync(DbConnection connection, HelixRepairOptions options, HelixRepairAction action, IReadOnlyDictionary<string, object?>? row, CancellationToken cancellationToken)
    {
        var (table, key) = (Identifier.Quote(options.Verify.Table), Identifier.Quote(options.Verify.KeyColumn));
        await using var command = connection.CreateCommand();
        if (action.Kind == HelixRepairActionKind.Delete)
        {
            command.CommandText = $"DELETE FROM {table} WHERE {key} = @key";
            Add(command, "@key", action.Key);
        }
        else
        {
            var columns = row!.Keys.ToList();
            var names = columns.Select((_, i) => "@c" + i).ToList();
            for (var i = 0; i < columns.Count; i++)
            {
                Add(command, names[i], row[columns[i]]);
            }

            var updates = string.Join(", ", columns.Where(c => !string.Equals(c, options.Verify.KeyColumn, StringComparison.OrdinalIgnoreCase)).Select(c => $"{Identifier.Quote(c)} = excluded.{Identifier.Quote(c)}"));
            // Never over a row whose version grew since it was read (equal versions: the row From chose).
            var guard = options.VersionColumn is { } version ? $" WHERE {table}.{Identifier.Quote(version)} <= excluded.{Identifier.Quote(version)}" : string.Empty;
            command.CommandText = $"INSERT INTO {table} ({string.Join(", ", columns.Select(Identifier.Quote))}) VALUES ({string.Join(", ", names)}) "
                + (updates.Length == 0 ? $"ON CONFLICT ({key}) DO NOTHING" : $"ON CONFLICT ({key}) DO UPDATE SET {updates}{guard}");
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }
}
