using System.CommandLine;
using Helix.Data.Nats;
using Helix.Data.Operations;
using Spectre.Console;

namespace Helix.Data.Tool;

/// <summary><c>status</c>, <c>drain</c> and <c>undrain</c>: what the strands and the queue look like from here, and taking a strand out of service across the fleet.</summary>
internal static class StatusCommands
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static IEnumerable<Command> Create(CliContext cli)
    {
        var status = new Command("status", "Probe each strand, read the replay queue's backlog and dead letters, and list the drains in force") { cli.Connection, cli.Json };
        status.SetAction((result, cancellationToken) => cli.GuardedAsync(async () =>
        {
            await using var dataSource = cli.Open(result);
            var report = await HelixStatusReader.ReadAsync(dataSource, Timeout, cancellationToken);
            var drains = await DrainsAsync(cli.Settings(result), cancellationToken);
            WriteStatus(cli, result.GetValue(cli.Json), report, drains);
            return report.IsHealthy && drains is null or { Count: 0 } ? 0 : 1;
        }));
        yield return status;

        var strand = new Argument<string>("strand") { Description = "primary, secondary, or a name from Strand Names" };
        var reason = new Option<string>("--reason") { Description = "Why (shown in every process's status and logs)", Required = true };
        var drain = new Command("drain", "Take a strand out of service in every process that watches the drain bucket (Drain Watch=nats://...)") { cli.Connection, strand, reason };
        drain.SetAction((result, cancellationToken) => WithDrainBucketAsync(cli, result, strand, async (bucket, name) =>
        {
            await NatsDrainWatch.DrainAsync(bucket.Connection, name, result.GetValue(reason)!, bucket.Options, cancellationToken);
            cli.Output.WriteLine($"Strand {name} drained: each process queues its writes and reads the other strand.");
        }));
        yield return drain;

        var undrain = new Command("undrain", "Return a drained strand to service in every process that watches the drain bucket") { cli.Connection, strand };
        undrain.SetAction((result, cancellationToken) => WithDrainBucketAsync(cli, result, strand, async (bucket, name) =>
        {
            await NatsDrainWatch.UndrainAsync(bucket.Connection, name, bucket.Options, cancellationToken);
            cli.Output.WriteLine($"Strand {name} undrained: each process applies what it missed, then reads it again.");
        }));
        yield return undrain;
    }

    private static Task<int> WithDrainBucketAsync(CliContext cli, ParseResult result, Argument<string> strand, Func<DrainBucket, string, Task> command) => cli.GuardedAsync(async () =>
    {
        await using var bucket = DrainBucket.Open(cli.Settings(result))
            ?? throw new InvalidOperationException("The connection string has no Drain Watch (nats://...): a drain reaches other processes only through it. In one process, call HelixDataSource.Drain.");
        await using var dataSource = cli.Open(result);
        var name = dataSource.GetStatus().Strands[(int)CliContext.Strand(dataSource, result.GetValue(strand)!)].Name;
        await command(bucket, name);
        return 0;
    });

    private static async Task<IReadOnlyList<NatsDrainEntry>?> DrainsAsync(HelixConnectionStringBuilder settings, CancellationToken cancellationToken)
    {
        await using var bucket = DrainBucket.Open(settings);
        return bucket is null ? null : await NatsDrainWatch.GetDrainsAsync(bucket.Connection, bucket.Options, cancellationToken);
    }

    private static void WriteStatus(CliContext cli, bool json, HelixStatusReport report, IReadOnlyList<NatsDrainEntry>? drains)
    {
        if (json)
        {
            cli.WriteJson(new
            {
                healthy = report.IsHealthy && drains is null or { Count: 0 },
                strands = report.Strands.Select(s => new { strand = s.Strand.ToString(), name = s.Name, provider = s.Provider, reachable = s.Reachable, latencyMs = s.Latency?.TotalMilliseconds, error = s.Error, backlog = s.Backlog }),
                queue = report.Queue is { } q ? new { kind = q.Kind, durable = q.Durable, open = q.Open, deadLetters = q.DeadLetters } : null,
                drains = drains?.Select(d => new { strand = d.StrandName, reason = d.Reason, resync = d.IsResync }),
            });
            return;
        }

        var table = new Table().AddColumns("strand", "name", "provider", "reachable", "latency", "backlog");
        foreach (var strand in report.Strands)
        {
            table.AddRow(
                strand.Strand.ToString(),
                Markup.Escape(strand.Name),
                Markup.Escape(strand.Provider),
                strand.Reachable ? "[green]yes[/]" : "[red]no[/]",
                strand.Latency is { } latency ? $"{latency.TotalMilliseconds:0.0} ms" : "-",
                strand.Backlog?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-");
        }

        var console = cli.Console;
        console.Write(table);
        foreach (var strand in report.Strands.Where(s => !s.Reachable))
        {
            console.MarkupLine($"[red]{strand.Strand} does not answer:[/] {Markup.Escape(strand.Error ?? string.Empty)}");
        }

        console.MarkupLine(report.Queue switch
        {
            null => "Replay queue: none.",
            { Durable: false } q => $"Replay queue: {q.Kind}, in the application's memory: its backlog and dead letters are not visible from here.",
            { Open: false } q => $"[red]Replay queue: {q.Kind} did not open within {Timeout.TotalSeconds:0} s.[/]",
            var q => $"Replay queue: {q.Kind}, {(q.DeadLetters is { } count ? $"{count} dead letters" : "dead letters not kept for operators")}.",
        });
        console.MarkupLine(drains switch
        {
            null => "Drains: no Drain Watch in the connection string.",
            { Count: 0 } => "Drains: none.",
            _ => "Drains: " + string.Join("; ", drains.Select(d => Markup.Escape($"{d.StrandName} {(d.IsResync ? "resynchronising" : "drained")} ({d.Reason})"))),
        });
    }
}
