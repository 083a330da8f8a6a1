using System.Globalization;
using System.Text;

namespace Helix.Data.Simulation;

/// <summary>What to run: a profile, some or all scenarios, how many rounds, where the report goes.</summary>
public sealed record SimulationOptions(Profile Profile, IReadOnlyList<Scenario> Scenarios, int Rounds, string Output)
{
    public static SimulationOptions Parse(string[] args)
    {
        string? Value(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var profile = Value("--profile") switch
        {
            null or "quick" => Profile.Quick,
            "soak" => Profile.Soak,
            var other => throw new ArgumentException($"--profile is quick or soak, not '{other}'."),
        };
        var names = Value("--scenario")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var scenarios = names is null ? Scenario.All : [.. names.Select(n => Scenario.All.FirstOrDefault(s => s.Name == n)
            ?? throw new ArgumentException($"Unknown scenario '{n}'; the scenarios are {string.Join(", ", Scenario.All.Select(s => s.Name))}."))];
        var rounds = int.Parse(Value("--rounds") ?? "1", CultureInfo.InvariantCulture);
        var output = Value("--out") ?? Path.Combine(Path.GetTempPath(), "helix-simulation-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        return new(profile, scenarios, rounds, output);
    }
}

/// <summary>Runs scenarios one after the other and writes the report.</summary>
public static class Simulator
{
    public static async Task<SimulationReport> RunAsync(SimulationOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var results = new List<ScenarioResult>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var scenario in options.Scenarios)
            {
                await log.WriteLineAsync($"{scenario.Name} (round {round} of {options.Rounds}, {options.Profile.Name}): {scenario.Description}");
                var folder = Path.Combine(options.Output, options.Rounds == 1 ? scenario.Name : $"{scenario.Name}-{round}");
                results.Add(await new ScenarioRun(scenario, options.Profile, folder, log).RunAsync(cancellationToken));
                await log.WriteLineAsync(results[^1].Passed ? "  invariants held" : "  INVARIANTS BROKEN");
            }
        }

        var report = new SimulationReport(options.Profile.Name, results);
        Directory.CreateDirectory(options.Output);
        var text = report.ToMarkdown();
        await File.WriteAllTextAsync(Path.Combine(options.Output, "report.md"), text, cancellationToken);
        await log.WriteLineAsync(text);
        await log.WriteLineAsync($"Report and charts: {options.Output}");
        return report;
    }
}

/// <summary>Every scenario's result.</summary>
public sealed record SimulationReport(string Profile, IReadOnlyList<ScenarioResult> Results)
{
    public bool Passed => Results.All(r => r.Passed);

    public string ToMarkdown()
    {
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Simulation, {Profile} profile: {(Passed ? "every invariant held" : "INVARIANTS BROKEN")}.")
            .AppendLine()
            .AppendLine("| scenario | operations | errors | acknowledged writes lost | stale reads | converged | time to converge s | read p99 ms | write p99 ms |")
            .AppendLine("|---|---:|---:|---:|---:|---|---:|---:|---:|");
        foreach (var r in Results)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {r.Operations} | {r.Errors} | {r.LostWrites} of {r.Keys} keys | {r.StaleReads} | {(r.Converged ? "yes" : "NO")} | {r.ConvergeSeconds:0.0} | {r.ReadP99Ms:0.0} | {r.WriteP99Ms:0.0} |");
        }

        return text.ToString();
    }
}
