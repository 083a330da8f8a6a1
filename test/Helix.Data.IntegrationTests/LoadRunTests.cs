using System.Globalization;
using System.Text;
using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// A bounded load run: 32 concurrent workers for 60 s (<c>HELIX_LOAD_SECONDS</c>), mixing writes and reads, while the
/// primary strand is stopped (<c>pg_ctl stop -m immediate</c>) and restarted twice. It prints what callers saw and
/// what the strands hold; with <c>HELIX_LOAD_REPORT</c> set to a folder it also writes the text and a chart there.
/// </summary>
public class LoadRunTests : PostgresTestBase
{
    [Test]
    public async Task A_bounded_load_run_with_two_outages_loses_nothing()
    {
        PostgresServers.RequireFaultControl();
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("HELIX_LOAD_SECONDS"), CultureInfo.InvariantCulture, out var configured) ? configured : 60;
        const int Workers = 32;
        const HelixStrand Faulty = HelixStrand.Primary;
        var server = PostgresServers.Of(Faulty);
        await ExecuteOnBothAsync(Workload.Schema);
        using var loggerFactory = TestLog.Factory(Microsoft.Extensions.Logging.LogLevel.Error);
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString("Preferred Strand=Primary;Replay Capacity=1000000", inner: ";Timeout=2;Command Timeout=5;Maximum Pool Size=64"))
            .ConfigureReplay(o => o.BackoffMax = TimeSpan.FromSeconds(1))
            .UseLoggerFactory(loggerFactory)
            .Build();
        var workload = new Workload(dataSource);
        var samples = new List<(double Time, long Primary, long Secondary)>();
        var marks = new List<LoadChart.Mark>();
        var healTimes = new List<TimeSpan>();
        using var stop = new CancellationTokenSource();
        var running = workload.RunAsync(Workers, stop.Token);
        var sampling = SampleAsync(dataSource, workload, samples, stop.Token);

        async Task OutageAsync(double at, double length)
        {
            await Until(workload, at);
            await server.KillAsync();
            marks.Add(new(workload.Elapsed.TotalSeconds, $"{Faulty} stopped"));
            await Until(workload, at + length);
            await server.StartAsync();
            var restarted = workload.Elapsed;
            marks.Add(new(restarted.TotalSeconds, $"{Faulty} restarted"));
            var deadline = restarted + TimeSpan.FromSeconds(60);
            while (dataSource.GetStatus()[Faulty].State != HelixStrandState.Healthy && workload.Elapsed < deadline)
            {
                await Task.Delay(10);
            }

            healTimes.Add(workload.Elapsed - restarted);
        }

        await OutageAsync(seconds * 0.15, seconds * 0.15);
        await OutageAsync(seconds * 0.55, seconds * 0.15);
        await Until(workload, seconds);
        await stop.CancelAsync();
        await running;
        await sampling;
        using (var converged = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            await dataSource.WaitForReplayAsync(converged.Token);
        }

        const string Everything = "SELECT id, worker, v, version FROM events ORDER BY id";
        var primary = await RowsAsync(HelixStrand.Primary, Everything);
        var secondary = await RowsAsync(HelixStrand.Secondary, Everything);
        var stored = primary.Select(r => r.Split('|')).ToDictionary(p => Guid.Parse(p[0]), p => long.Parse(p[2], CultureInfo.InvariantCulture));
        var lost = workload.Acknowledged.Count(a => !stored.TryGetValue(a.Key, out var v) || v != a.Value);
        var perSecond = Enumerable.Range(0, seconds)
            .Select(s => workload.Latencies.TryGetValue(s, out var l) ? l.ToArray() : [])
            .Select((l, s) =>
            {
                var backlog = samples.Where(x => x.Time >= s && x.Time < s + 1).ToList();
                return new LoadChart.Second(s, l.Length, Percentile(l, 0.99), backlog.Count == 0 ? 0 : backlog.Max(x => x.Primary), backlog.Count == 0 ? 0 : backlog.Max(x => x.Secondary));
            })
            .ToList();
        var status = dataSource.GetStatus();

        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Helix.Data load run: {Workers} workers, {seconds} s, PostgreSQL 15 x 2 ({PostgresServers.Source}), {Environment.ProcessorCount} cores")
            .AppendLine(CultureInfo.InvariantCulture, $"faults: {Faulty} stopped with pg_ctl stop -m immediate at {marks[0].Time:0.0} s and {marks[2].Time:0.0} s, restarted at {marks[1].Time:0.0} s and {marks[3].Time:0.0} s")
            .AppendLine(CultureInfo.InvariantCulture, $"operations acknowledged:        {workload.Operations} ({workload.Operations / (double)seconds:0} / s; writes and reads of the row just written)")
            .AppendLine(CultureInfo.InvariantCulture, $"errors returned to callers:     {workload.Errors.Count}")
            .AppendLine(CultureInfo.InvariantCulture, $"stale reads (read-your-writes): {workload.StaleReads}")
            .AppendLine(CultureInfo.InvariantCulture, $"acknowledged writes lost:       {lost} (of {workload.Acknowledged.Count} rows, checked on both strands)")
            .AppendLine(CultureInfo.InvariantCulture, $"restart to Healthy:             {string.Join(", ", healTimes.Select(t => $"{t.TotalSeconds:0.00} s"))}")
            .AppendLine(CultureInfo.InvariantCulture, $"replay entries applied:         {status.ReplayApplied}; peak backlog {perSecond.Max(s => s.PrimaryBacklog)}")
            .AppendLine(CultureInfo.InvariantCulture, $"p99 latency outside / during outages: {Percentile(OutsideOutages(workload, marks, inside: false), 0.99):0.0} ms / {Percentile(OutsideOutages(workload, marks, inside: true), 0.99):0.0} ms")
            .AppendLine(CultureInfo.InvariantCulture, $"first errors: {string.Join(" | ", workload.Errors.Take(5))}")
            .AppendLine(CultureInfo.InvariantCulture, $"checksum primary:   {Checksum(primary)} ({primary.Count} rows)")
            .AppendLine(CultureInfo.InvariantCulture, $"checksum secondary: {Checksum(secondary)} ({secondary.Count} rows)")
            .ToString();
        TestContext.Out.Write(report);
        TestContext.Progress.Write(report);
        if (Environment.GetEnvironmentVariable("HELIX_LOAD_REPORT") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            await File.WriteAllTextAsync(Path.Combine(folder, "load-run.txt"), report);
            LoadChart.Save(Path.Combine(folder, "load-run.png"), $"Helix.Data on 2 x PostgreSQL: {Workers} workers, {Faulty} stopped twice", perSecond, marks);
        }

        Assert.Multiple(() =>
        {
            Assert.That(workload.Errors, Is.Empty, "no caller saw an error: one strand was always up");
            Assert.That(workload.StaleReads, Is.Zero);
            Assert.That(lost, Is.Zero, "no acknowledged write lost");
            Assert.That(secondary, Is.EqualTo(primary), "identical strands");
            Assert.That(healTimes, Has.All.LessThan(TimeSpan.FromSeconds(60)), "the strand became Healthy after each restart");
            Assert.That(status.Divergences, Is.Zero);
        });
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

    private static double[] OutsideOutages(Workload workload, List<LoadChart.Mark> marks, bool inside)
    {
        bool InOutage(int second) =>
            (second >= (int)marks[0].Time && second <= (int)marks[1].Time) || (second >= (int)marks[2].Time && second <= (int)marks[3].Time);
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
