using System.CommandLine;
using Helix.Data.Nats;
using Helix.Data.Operations;
using Spectre.Console;

namespace Helix.Data.Tool;

/// <summary><c>verify</c>, <c>repair</c> and <c>resync</c>: the commands that compare tables and make them equal.</summary>
internal static class TableCommands
{
    public static IEnumerable<Command> Create(CliContext cli)
    {
        var table = new Option<string>("--table", "-t") { Description = "The table to compare", Required = true };
        var key = new Option<string>("--key", "-k") { Description = "Its key column: unique, not null", DefaultValueFactory = _ => "id" };
        var columns = new Option<string[]>("--columns") { Description = "Only these columns (comma-separated); all by default", AllowMultipleArgumentsPerToken = true };
        var version = new Option<string?>("--version-column") { Description = "The newer row (higher value) wins" };
        var from = new Option<HelixStrand?>("--from") { Description = "This strand's row wins where versions do not decide" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Say what would be done; change nothing" };

        var verify = new Command("verify", "Compare a table on both strands: checksums by each database, bisection down to the rows that differ") { cli.Connection, table, key, columns, cli.Json };
        verify.SetAction((result, cancellationToken) => cli.GuardedAsync(async () =>
        {
            await using var dataSource = cli.Open(result);
            var report = await HelixVerifier.VerifyAsync(dataSource, Options(result.GetValue(table)!, result.GetValue(key)!, result.GetValue(columns)), cancellationToken);
            Write(cli, result.GetValue(cli.Json), report, null);
            return report.Identical ? 0 : 1;
        }));
        yield return verify;

        var repair = new Command("repair", "Make the rows that differ equal, writing through Helix: the newer row by --version-column, else the --from strand's") { cli.Connection, table, key, columns, cli.Json, version, from, dryRun };
        repair.SetAction((result, cancellationToken) => cli.GuardedAsync(async () =>
        {
            await using var dataSource = cli.Open(result);
            var options = new HelixRepairOptions
            {
                Verify = Options(result.GetValue(table)!, result.GetValue(key)!, result.GetValue(columns)),
                VersionColumn = result.GetValue(version),
                From = result.GetValue(from),
                DryRun = result.GetValue(dryRun),
            };
            var report = await HelixRepairer.RepairAsync(dataSource, options, cancellationToken);
            Write(cli, result.GetValue(cli.Json), report.Before, report);
            return (report.After ?? report.Before).Identical ? 0 : 1;
        }));
        yield return repair;

        yield return Resync(cli, version);
    }

    private static Command Resync(CliContext cli, Option<string?> version)
    {
        var strand = new Option<string>("--strand", "-s") { Description = "The strand to bring back (the other holds the truth)", Required = true };
        var tables = new Option<string[]>("--tables") { Description = "Only these tables (comma-separated); every table by default", AllowMultipleArgumentsPerToken = true };
        var state = new Option<string?>("--state") { Description = "The file that records the tables done, to resume an interrupted run (default: helix-resync-STRAND.json here)" };
        var resync = new Command("resync", "Bring back a strand that missed writes no queue holds: copy every table's differing rows from the other strand, resumable; then return it to service") { cli.Connection, strand, tables, version, state, cli.Json };
        resync.SetAction((result, cancellationToken) => cli.GuardedAsync(async () =>
        {
            await using var dataSource = cli.Open(result);
            var target = CliContext.Strand(dataSource, result.GetValue(strand)!);
            var name = dataSource.GetStatus().Strands[(int)target].Name;
            var options = new HelixResyncOptions
            {
                Strand = target,
                Tables = result.GetValue(tables) is { Length: > 0 } only ? [.. only.SelectMany(t => t.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))] : null,
                VersionColumn = result.GetValue(version),
                StateFile = result.GetValue(state) ?? Path.GetFullPath($"helix-resync-{name}.json"),
            };
            var json = result.GetValue(cli.Json);
            await using var fleet = await FleetResync.BeginAsync(cli.Settings(result), name, cancellationToken);
            var progress = new Progress<HelixResyncTable>(t =>
            {
                if (!json)
                {
                    cli.Output.WriteLine($"{t.Table}: {(t.KeyColumn is null ? "skipped (no one-column primary key)" : t.Resumed ? "done earlier" : t.Identical ? $"identical ({t.RowsRepaired} rows copied)" : $"still differs after {t.RowsRepaired} rows copied")}");
                }
            });
            var report = await HelixResync.RunAsync(dataSource, options, progress, cancellationToken);
            if (report.Identical)
            {
                await fleet.CompleteAsync(cancellationToken);
            }

            if (json)
            {
                cli.WriteJson(new { strand = name, identical = report.Identical, tables = report.Tables.Select(t => new { table = t.Table, key = t.KeyColumn, rowsRepaired = t.RowsRepaired, identical = t.Identical, resumed = t.Resumed }) });
            }
            else
            {
                cli.Output.WriteLine(report.Identical
                    ? $"Strand {name} holds the same data as the other strand{(fleet.Told ? "; the fleet was told to return it to service" : string.Empty)}."
                    : $"Strand {name} still differs in {report.Tables.Count(t => !t.Identical)} tables; run resync again (it resumes), or repair them by hand.");
            }

            return report.Identical ? 0 : 1;
        }));
        return resync;
    }

    private static HelixVerifyOptions Options(string table, string key, string[]? columns) => new()
    {
        Table = table,
        KeyColumn = key,
        Columns = columns is { Length: > 0 } ? [.. columns.SelectMany(c => c.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))] : null,
    };

    private static void Write(CliContext cli, bool json, HelixVerifyReport report, HelixRepairReport? repair)
    {
        if (json)
        {
            cli.WriteJson(new
            {
                table = report.Table,
                identical = report.Identical,
                rows = report.Rows,
                valuesTransferred = report.ValuesTransferred,
                seconds = report.Elapsed.TotalSeconds,
                differences = report.Differences.Select(d => new { key = d.Key.ToString(), kind = d.Kind.ToString() }),
                repair = repair is null ? null : new
                {
                    actions = repair.Actions.Select(a => new { key = a.Key.ToString(), kind = a.Kind.ToString(), source = a.Source?.ToString() }),
                    identicalAfter = repair.After?.Identical,
                },
            });
            return;
        }

        var console = cli.Console;
        console.MarkupLine($"[bold]{Markup.Escape(report.Table)}[/]: {report.Rows} rows on the primary, {report.Differences.Count} differ ({report.ValuesTransferred} values compared on the client, {report.Elapsed.TotalSeconds:0.00} s)");
        if (report.Differences.Count == 0)
        {
            return;
        }

        var rows = new Table().AddColumn("key").AddColumn("difference");
        var actions = repair?.Actions.ToDictionary(a => a.Key);
        if (actions is not null)
        {
            rows.AddColumn(repair!.After is null ? "would do" : "done");
        }

        foreach (var difference in report.Differences)
        {
            var cells = new List<string> { Markup.Escape(difference.Key.ToString() ?? string.Empty), difference.Kind.ToString() };
            if (actions?.GetValueOrDefault(difference.Key) is { } action)
            {
                cells.Add(action.Source is { } source ? $"{action.Kind} from {source}" : action.Kind.ToString());
            }

            rows.AddRow([.. cells]);
        }

        console.Write(rows);
        if (repair?.After is { } after)
        {
            console.MarkupLine(after.Identical ? "[green]After the repair the strands are identical.[/]" : $"[yellow]After the repair {after.Differences.Count} rows still differ.[/]");
        }
    }

    /// <summary>
    /// The fleet's side of a resync: with a drain watch in the connection string, the resync key is set before the copy
    /// (each application process with the strand out of sync queues its writes for it again) and removed after it (they
    /// return the strand to service once they have applied those writes).
    /// </summary>
    private sealed class FleetResync(DrainBucket? bucket, string strandName) : IAsyncDisposable
    {
        private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(2);

        public bool Told { get; private set; }

        public static async Task<FleetResync> BeginAsync(HelixConnectionStringBuilder settings, string strandName, CancellationToken cancellationToken)
        {
            var bucket = DrainBucket.Open(settings);
            var fleet = new FleetResync(bucket, strandName);
            if (bucket is null)
            {
                return fleet;
            }

            try
            {
                await NatsDrainWatch.BeginResyncAsync(bucket.Connection, strandName, "resynchronised by the helix tool", bucket.Options, cancellationToken);

                // The watches of the fleet see the key within milliseconds on a healthy server; a process that writes a
                // row before it does, after the copy of that row, would leave it behind. Give them time before copying.
                await Task.Delay(Propagation, TimeProvider.System, cancellationToken);
                return fleet;
            }
            catch
            {
                await fleet.DisposeAsync();
                throw;
            }
        }

        public async Task CompleteAsync(CancellationToken cancellationToken)
        {
            if (bucket is not null)
            {
                await NatsDrainWatch.CompleteResyncAsync(bucket.Connection, strandName, bucket.Options, cancellationToken);
                Told = true;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (bucket is not null)
            {
                await bucket.DisposeAsync();
            }
        }
    }
}
