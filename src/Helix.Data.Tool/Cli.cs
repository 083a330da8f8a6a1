using System.CommandLine;
using System.Text.Json;
using Helix.Data.Operations;
using Spectre.Console;

namespace Helix.Data.Tool;

/// <summary>
/// The commands of the <c>helix</c> tool. Exit codes: 0 the strands agree (or were repaired), 1 they differ, 2 the
/// command could not run (a bad option, a strand that cannot be reached). The connection string is never printed: it
/// may hold passwords.
/// </summary>
public static class Cli
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Runs the tool with <paramref name="args"/>, writing to the given writers.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Where results go.</param>
    /// <param name="error">Where errors go.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var connection = new Option<string>("--connection", "-c") { Description = "The Helix connection string (or set HELIX_CONNECTION)", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("HELIX_CONNECTION") ?? string.Empty };
        var table = new Option<string>("--table", "-t") { Description = "The table to compare", Required = true };
        var key = new Option<string>("--key", "-k") { Description = "Its key column: unique, not null", DefaultValueFactory = _ => "id" };
        var columns = new Option<string[]>("--columns") { Description = "Only these columns (comma-separated); all by default", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print a JSON document instead of a table" };
        var version = new Option<string?>("--version-column") { Description = "The newer row (higher value) wins" };
        var from = new Option<HelixStrand?>("--from") { Description = "This strand's row wins where versions do not decide" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Say what would be done; change nothing" };

        var verify = new Command("verify", "Compare a table on both strands: checksums by each database, bisection down to the rows that differ") { connection, table, key, columns, json };
        verify.SetAction((result, cancellationToken) => GuardedAsync(error, async () =>
        {
            await using var dataSource = HelixDataSource.Create(ConnectionString(result.GetValue(connection)));
            var report = await HelixVerifier.VerifyAsync(dataSource, Options(result.GetValue(table)!, result.GetValue(key)!, result.GetValue(columns)), cancellationToken);
            Write(output, result.GetValue(json), report, null);
            return report.Identical ? 0 : 1;
        }));

        var repair = new Command("repair", "Make the rows that differ equal, writing through Helix: the newer row by --version-column, else the --from strand's") { connection, table, key, columns, json, version, from, dryRun };
        repair.SetAction((result, cancellationToken) => GuardedAsync(error, async () =>
        {
            await using var dataSource = HelixDataSource.Create(ConnectionString(result.GetValue(connection)));
            var options = new HelixRepairOptions
            {
                Verify = Options(result.GetValue(table)!, result.GetValue(key)!, result.GetValue(columns)),
                VersionColumn = result.GetValue(version),
                From = result.GetValue(from),
                DryRun = result.GetValue(dryRun),
            };
            var report = await HelixRepairer.RepairAsync(dataSource, options, cancellationToken);
            Write(output, result.GetValue(json), report.Before, report);
            return (report.After ?? report.Before).Identical ? 0 : 1;
        }));

        var root = new RootCommand("helix: operate the two strands of a Helix.Data connection string") { verify, repair };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Exit code 1 means "the strands differ": a command line that did not parse is 2.
            foreach (var parseError in parsed.Errors)
            {
                await error.WriteLineAsync("helix: " + parseError.Message);
            }

            return 2;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }

    private static HelixVerifyOptions Options(string table, string key, string[]? columns) => new()
    {
        Table = table,
        KeyColumn = key,
        Columns = columns is { Length: > 0 } ? [.. columns.SelectMany(c => c.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))] : null,
    };

    private static string ConnectionString(string? value) =>
        string.IsNullOrWhiteSpace(value) ? throw new ArgumentException("Give the Helix connection string with --connection, or in HELIX_CONNECTION.") : value;

    /// <summary>Runs a command; what goes wrong becomes a message and exit code 2, never a stack trace or the connection string.</summary>
    private static async Task<int> GuardedAsync(TextWriter error, Func<Task<int>> command)
    {
        try
        {
            return await command();
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or InvalidOperationException or System.Data.Common.DbException or HelixException)
        {
            await error.WriteLineAsync("helix: " + e.Message);
            return 2;
        }
    }

    private static void Write(TextWriter output, bool json, HelixVerifyReport report, HelixRepairReport? repair)
    {
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
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
            }, Json));
            return;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.Detect, ColorSystem = ColorSystemSupport.Detect });
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
}
