using System.Text.Json;

namespace Helix.Data.Operations;

/// <summary>
/// Brings back a strand that missed writes no replay queue holds (<c>Replay Full=Resync</c>, a strand restored from an
/// old backup, one away longer than the queue could keep): every table is compared with the other strand and its
/// differing rows are copied onto the strand, directly (the other strand holds the truth), until the table is identical.
/// Resumable: with a <see cref="HelixResyncOptions.StateFile"/>, a run that was interrupted skips the tables done.
/// </summary>
/// <remarks>
/// When this data source has the strand <see cref="HelixStrandState.OutOfSync"/>, the resynchronisation is begun first
/// (<see cref="HelixDataSource.BeginResyncAsync"/>: its writes are queued again) and completed after the copy, when every
/// table is identical. Other processes of a fleet learn it through the drain watch's resync key (<c>helix resync</c> sets
/// it). Writes queued during the copy are applied afterwards, again: writes guarded by a version column make that harmless.
/// </remarks>
public static class HelixResync
{
    /// <summary>Resynchronises a strand table by table.</summary>
    /// <param name="dataSource">A two-strand data source of PostgreSQL or SQLite strands.</param>
    /// <param name="options">The strand, the tables, the state file.</param>
    /// <param name="progress">Told each table once it is done, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the resynchronisation; the tables done stay recorded in the state file.</param>
    /// <returns>What was done per table.</returns>
    public static async Task<HelixResyncReport> RunAsync(HelixDataSource dataSource, HelixResyncOptions options, IProgress<HelixResyncTable>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Passes, 1, nameof(options));
        if (dataSource.IsSingleStrand)
        {
            throw new InvalidOperationException("The data source has one strand: there is no other strand to copy from.");
        }

        var source = options.Strand == HelixStrand.Primary ? HelixStrand.Secondary : HelixStrand.Primary;
        var tables = await TablesAsync(dataSource, source, options.Tables, cancellationToken);
        var state = ResyncState.Load(options.StateFile, options.Strand);
        var begun = await BeginAsync(dataSource, options.Strand, cancellationToken);
        var results = new List<HelixResyncTable>();
        foreach (var (table, key) in tables)
        {
            var result = key is null ? new HelixResyncTable(table, null, 0, false, false)
                : state.Done.Contains(table) ? new HelixResyncTable(table, key, 0, true, true)
                : await RepairAsync(dataSource, options, source, table, key, cancellationToken);
            if (result.Identical && !result.Resumed)
            {
                state.MarkDone(table);
            }

            results.Add(result);
            progress?.Report(result);
        }

        var report = new HelixResyncReport(options.Strand, results, begun && results.All(r => r.Identical));
        if (report.Identical)
        {
            state.Delete();
        }

        if (report.ReturnedToService)
        {
            dataSource.CompleteResync(options.Strand);
        }

        return report;
    }

    /// <summary>Begins the resynchronisation in this data source when it has the strand out of sync; true when it did, or one was under way.</summary>
    private static async Task<bool> BeginAsync(HelixDataSource dataSource, HelixStrand strand, CancellationToken cancellationToken)
    {
        var status = dataSource.GetStatus().Strands[(int)strand];
        if (status.State == HelixStrandState.OutOfSync)
        {
            await dataSource.BeginResyncAsync(strand, cancellationToken);
            return true;
        }

        return dataSource.GetStrand(strand).Controller.IsResyncing;
    }

    /// <summary>Repairs a table from the source strand, pass after pass while writes keep changing it.</summary>
    private static async Task<HelixResyncTable> RepairAsync(HelixDataSource dataSource, HelixResyncOptions options, HelixStrand source, string table, string key, CancellationToken cancellationToken)
    {
        var repaired = 0;
        for (var pass = 1; ; pass++)
        {
            var report = await HelixRepairer.RepairAsync(
                dataSource,
                new HelixRepairOptions
                {
                    // The strand being brought back takes no reads and no direct writes: nothing to wait for.
                    Verify = new HelixVerifyOptions { Table = table, KeyColumn = key, ChunkRows = options.ChunkRows, Settle = TimeSpan.Zero },
                    VersionColumn = options.VersionColumn,
                    From = source,
                    WriteTo = options.Strand,
                },
                cancellationToken);
            repaired += report.Actions.Count(a => a.Kind != HelixRepairActionKind.Unresolved);
            if (report.After!.Identical || pass == options.Passes)
            {
                return new HelixResyncTable(table, key, repaired, report.After.Identical, false);
            }
        }
    }

    /// <summary>The tables to resynchronise with their one-column primary keys, as the source strand knows them.</summary>
    private static async Task<List<(string Table, string? Key)>> TablesAsync(HelixDataSource dataSource, HelixStrand source, IReadOnlyList<string>? only, CancellationToken cancellationToken)
    {
        var strand = dataSource.GetStrand(source);
        var dialect = VerifyDialect.For(strand.Factory);
        var tables = await StrandFaults.RetryAsync(
            dataSource,
            async () =>
            {
                await using var connection = await strand.DataSource.OpenConnectionAsync(cancellationToken);
                await using var command = connection.CreateCommand();
                command.CommandText = dialect.TablesQuery;
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                var found = new List<(string Table, string? Key)>();
                while (await reader.ReadAsync(cancellationToken))
                {
                    found.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
                }

                return found;
            },
            cancellationToken);
        if (only is null)
        {
            return tables;
        }

        var chosen = new List<(string Table, string? Key)>();
        foreach (var name in only)
        {
            var match = tables.Where(t => string.Equals(t.Table, name, StringComparison.OrdinalIgnoreCase) || string.Equals(t.Table[(t.Table.IndexOf('.', StringComparison.Ordinal) + 1)..], name, StringComparison.OrdinalIgnoreCase)).ToList();
            chosen.Add(match.Count == 1 ? match[0] : throw new ArgumentException(match.Count == 0
                ? $"Strand {source} has no table {name}."
                : $"'{name}' names several tables ({string.Join(", ", match.Select(m => m.Table))}); qualify it with its schema.", nameof(only)));
        }

        return chosen;
    }

    /// <summary>The tables an interrupted run finished, kept in a small JSON file next to the operator.</summary>
    private sealed class ResyncState
    {
        private readonly string? _path;

        private ResyncState(string? path, HelixStrand strand, HashSet<string> done) => (_path, Strand, Done) = (path, strand, done);

        public HelixStrand Strand { get; }

        public HashSet<string> Done { get; }

        public static ResyncState Load(string? path, HelixStrand strand)
        {
            if (path is null || !File.Exists(path))
            {
                return new ResyncState(path, strand, []);
            }

            var saved = JsonSerializer.Deserialize<Saved>(File.ReadAllText(path)) ?? throw new InvalidDataException($"The resync state file {path} is empty.");
            if (saved.Strand != strand)
            {
                throw new InvalidOperationException($"The resync state file {path} belongs to a resynchronisation of strand {saved.Strand}, not {strand}: name another file, or delete it to start over.");
            }

            return new ResyncState(path, strand, [.. saved.Done]);
        }

        public void MarkDone(string table)
        {
            Done.Add(table);
            if (_path is not null)
            {
                var temporary = _path + ".tmp";
                File.WriteAllText(temporary, JsonSerializer.Serialize(new Saved(Strand, [.. Done.Order(StringComparer.Ordinal)])));
                File.Move(temporary, _path, overwrite: true);
            }
        }

        public void Delete()
        {
            if (_path is not null)
            {
                File.Delete(_path);
            }
        }

        private sealed record Saved(HelixStrand Strand, List<string> Done);
    }
}
