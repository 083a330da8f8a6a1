using System.Globalization;
using System.Text;
using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// Bounded load runs with the default configuration (in-memory replay queue and its default budget): concurrent workers
/// that write and read back their own rows while PostgreSQL strands are stopped (<c>pg_ctl stop -m immediate</c>) and
/// restarted on a schedule. Each prints what callers saw and what the strands hold; with <c>HELIX_LOAD_REPORT</c> set to a
/// folder it also writes the text and a chart there (docs/load-run.md).
/// </summary>
public class LoadRunTests : PostgresTestBase
{
    /// <summary>32 workers for 60 s (<c>HELIX_LOAD_SECONDS</c>); the primary is stopped twice, for 15 % of the run each time.</summary>
    [Test]
    public async Task A_bounded_load_run_with_two_outages_loses_nothing()
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("HELIX_LOAD_SECONDS"), CultureInfo.InvariantCulture, out var configured) ? configured : 60;
        var run = await RunAsync("two-outages", Workers: 32, seconds, "Preferred Strand=Primary",
        [
            new(seconds * 0.15, HelixStrand.Primary, Stop: true),
            new(seconds * 0.30, HelixStrand.Primary, Stop: false),
            new(seconds * 0.55, HelixStrand.Primary, Stop: true),
            new(seconds * 0.70, HelixStrand.Primary, Stop: false),
        ]);
        Assert.Multiple(() =>
        {
            Assert.That(run.Workload.Errors, Is.Empty, "no caller saw an error: one strand was always up");
            run.AssertNothingLost();
            Assert.That(run.HealTimes, Has.All.LessThan(TimeSpan.FromSeconds(60)), "the strand became Healthy after each restart");
        });
    }

    /// <summary>
    /// The run that found issue 19's defects: 16 workers, the secondary stopped for 12 s (a backlog of tens of thousands
    /// of entries on this machine, which the old default of 10,000 refused), then the primary stopped 0.2 s after the
    /// secondary came back, while the secondary was still catching up: reads must keep seeing the writes acknowledged
    /// before them.
    /// </summary>
    [Test]
    public async Task The_primary_lost_while_the_secondary_catches_up_keeps_read_your_writes()
    {
        var run = await RunAsync("catching-up", Workers: 16, Seconds: 30, "Preferred Strand=Primary",
        [
            new(3, HelixStrand.Secondary, Stop: true),
            new(15, HelixStrand.Secondary, Stop: false),
            new(15.2, HelixStrand.Primary, Stop: true),
            new(20.2, HelixStrand.Primary, Stop: false),
        ]);
        Assert.Multiple(() =>
        {
            Assert.That(run.Workload.Errors.Where(e => !e.Contains(nameof(HelixException), StringComparison.Ordinal)), Is.Empty,
                "a caller may be told that no strand could take a write in time (a transient HelixException), nothing else");
            Assert.That(run.PeakBacklog, Is.GreaterThan(10_000), "the outage needed more than the old default of 10,000 entries");
            run.AssertNothingLost();
        });
    }

    private sealed record Step(double At, HelixStrand Strand, bool Stop);

    private sealed record Run(Workload Workload, List<TimeSpan> HealTimes, long PeakBacklog, long Lost, List<string> Primary, List<string> Secondary, HelixDataSourceStatus Status)
    {
        public void AssertNothingLost()
        {
            Assert.That(Workload.StaleReads, Is.Zero, "read-your-writes");
            Assert.That(Lost, Is.Zero, "no acknowledged write lost");
            Assert.That(Secondary, Is.EqualTo(Primary), "identical strands");
            Assert.That(Status.Divergences, Is.Zero);
        }
    }

    private async Task<Run> RunAsync(string name, int Workers, int Seconds, string settings, IReadOnlyList<Step> steps)
    {
        PostgresServers.RequireFaultControl();
        await ExecuteOnBothAsync(Workload.Schema);
        using var loggerFactory = TestLog.Factory(Microsoft.Extensions.Logging.LogLevel.Error);
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString(settings, inner: ";Timeout=2;Command Timeout=5;Maximum Pool Size=64"))
            .ConfigureReplay(o => o.BackoffMax = TimeSpan.FromSeconds(1))
            .UseLoggerFactory(loggerFactory)
            .Build();
        var workload = new Workload(dataSource);
        var samples = new List<(double Time, long Primary, long Secondary)>();
        var marks = new List<LoadChart.Mark>();
        var healing = new List<Task<TimeSpan>>();
        using var stop = new CancellationTokenSource();
        var running = workload.RunAsync(Workers, stop.Token);
        var sampling = SampleAsync(dataSource, workload, samples, stop.Token);
        var healingOf = new Dictionary<HelixStrand, Task<TimeSpan>>();
        foreach (var step in steps)
        {
            await Until(workload, step.At);
            if (step.Stop && healingOf.TryGetValue(step.Strand, out var healed))
            {
                await healed; // a strand is stopped again only once it caught up from the last time (or 60 s passed)
            }

            var server = PostgresServers.Of(step.Strand);
            await (step.Stop ? server.KillAsync() : server.StartAsync());
            marks.Add(new(workload.Elapsed.TotalSeconds, $"{step.Strand} {(step.Stop ? "stopped" : "restarted")}"));
            if (!step.Stop)
            {
                healing.Add(healingOf[step.Strand] = HealTimeAsync(dataSource, workload, step.Strand));
            }
        }

        await Until(workload, Seconds);
        await stop.CancelAsync();
        await running;
        await sampling;
        var healTimes = (await Task.WhenAll(healing)).ToList();
        using (var converged = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            await dataSource.WaitForReplayAsync(converged.Token);
        }

        var primary = await RowsAsync(HelixStrand.Primary, Workload.Everything);
        var secondary = await RowsAsync(HelixStrand.Secondary, Workload.Everything);
        var lost = workload.LostIn(primary);
        var perSecond = Enumerable.Range(0, Seconds)
            .Select(s => workload.Latencies.TryGetValue(s, out var l) ? l.ToArray() : [])
            .Select((l, s) =>
            {
                var backlog = samples.Where(x => x.Time >= s && x.Time < s + 1).ToList();
                return new LoadChart.Second(s, l.Length, Percentile(l, 0.99), backlog.Count == 0 ? 0 : backlog.Max(x => x.Primary), backlog.Count == 0 ? 0 : backlog.Max(x => x.Secondary));
            })
            .ToList();
        var status = dataSource.GetStatus();
        var peak = (long)perSecond.Max(s => Math.Max(s.PrimaryBacklog, s.SecondaryBacklog));
        var errorKinds = workload.Errors.GroupBy(e => e.Split(':')[0].Split(' ').Last()).Select(g => $"{g.Count()} {g.Key}");
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Helix.Data load run '{name}': {Workers} workers, {Seconds} s, PostgreSQL 15 x 2 ({PostgresServers.Source}), {Environment.ProcessorCount} cores, default replay settings")
            .AppendLine(CultureInfo.InvariantCulture, $"faults: {string.Join(", ", marks.Select(m => $"{m.Label} at {m.Time:0.0} s"))}")
            .AppendLine(CultureInfo.InvariantCulture, $"operations acknowledged:        {workload.Operations} ({workload.Operations / (double)Seconds:0} / s; writes and reads of the row just written)")
            .AppendLine(CultureInfo.InvariantCulture, $"errors returned to callers:     {workload.Errors.Count}{(workload.Errors.Count > 0 ? " (" + string.Join(", ", errorKinds) + ")" : string.Empty)}")
            .AppendLine(CultureInfo.InvariantCulture, $"stale reads (read-your-writes): {workload.StaleReads}")
            .AppendLine(CultureInfo.InvariantCulture, $"acknowledged writes lost:       {lost} (of {workload.Acknowledged.Count} rows, checked on both strands)")
            .AppendLine(CultureInfo.InvariantCulture, $"restart to Healthy:             {string.Join(", ", healTimes.Select(t => $"{t.TotalSeconds:0.00} s"))}")
            .AppendLine(CultureInfo.InvariantCulture, $"replay entries applied:         {status.ReplayApplied}; peak backlog {peak}")
            .AppendLine(CultureInfo.InvariantCulture, $"p99 latency outside / during outages: {Percentile(InOutages(workload, marks, inside: false), 0.99):0.0} ms / {Percentile(InOutages(workload, marks, inside: true), 0.99):0.0} ms")
            .AppendLine(CultureInfo.InvariantCulture, $"first errors: {string.Join(" | ", workload.Errors.Take(3))}")
            .AppendLine(CultureInfo.InvariantCulture, $"checksum primary:   {Checksum(primary)} ({primary.Count} rows)")
            .AppendLine(CultureInfo.InvariantCulture, $"checksum secondary: {Checksum(secondary)} ({secondary.Count} rows)")
            .ToString();
        TestContext.Out.Write(report);
        TestContext.Progress.Write(report);
        if (Environment.GetEnvironmentVariable("HELIX_LOAD_REPORT") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            await File.WriteAllTextAsync(Path.Combine(folder, $"{name}.txt"), report);
            LoadChart.Save(Path.Combine(folder, $"{name}.png"), $"Helix.Data on 2 x PostgreSQL: {Workers} workers, '{name}'", perSecond, marks);
        }

        return new(workload, healTimes, peak, lost, primary, secondary, status);
    }

    /// <summary>How long after its restart a strand took to become Healthy (up to 60 s).</summary>
    private static async Task<TimeSpan> HealTimeAsync(HelixDataSource dataSource, Workload workload, HelixStrand strand)
    {
        var restarted = workload.Elapsed;
        var deadline = restarted + TimeSpan.FromSeconds(60);
        while (dataSource.GetStatus()[strand].State != HelixStrandState.Healthy && workload.Elapsed < deadline)
        {
            await Task.Delay(10);
        }

        return workload.Elapsed - restarted;
    }

    private static async Task Until(Workload workload, double seconds)
    {
        var wait = TimeSpan.FromSeconds(seconds) - workload.Elapsed;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait); // the load run's schedule, not synchronisation
        }
    }

    private static async Task SampleAsync(HelixDataSource dataSource, Workload workload, List<(double, long, long)> samples, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var status = dataSource.GetStatus();
            samples.Add((workload.Elapsed.TotalSeconds, status[HelixStrand.Primary].Backlog, status[HelixStrand.Secondary].Backlog));
            try
            {
                await Task.Delay(100, stop);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Latencies of the seconds between a stop and the following restart (or not).</summary>
    private static double[] InOutages(Workload workload, List<LoadChart.Mark> marks, bool inside)
    {
        var outages = new List<(int From, int To)>();
        for (var i = 0; i < marks.Count; i++)
        {
            if (marks[i].Label.EndsWith("stopped", StringComparison.Ordinal))
            {
                var restart = marks.Skip(i + 1).FirstOrDefault(m => m.Label.StartsWith(marks[i].Label.Split(' ')[0], StringComparison.Ordinal) && m.Label.EndsWith("restarted", StringComparison.Ordinal));
                outages.Add(((int)marks[i].Time, (int)(restart?.Time ?? double.MaxValue / 2)));
            }
        }

        bool InOutage(int second) => outages.Any(o => second >= o.From && second <= o.To);
        return [.. workload.Latencies.Where(l => InOutage(l.Key) == inside).SelectMany(l => l.Value)];
    }

    private static double Percentile(double[] values, double percentile)
    {
        if (values.Length == 0)
        {
            return 0;
        }

        Array.Sort(values);
        return values[Math.Min(values.Length - 1, (int)Math.Ceiling(percentile * values.Length) - 1)];
    }
}
