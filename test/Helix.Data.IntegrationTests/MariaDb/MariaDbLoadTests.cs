using System.Globalization;
using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>
/// A bounded load run on two MariaDB servers (the counterpart of the PostgreSQL runs of docs/load-run.md): workers write
/// and read back their own rows while each server is killed (SIGKILL) and restarted in turn. Nothing acknowledged may be
/// lost, no read may be older than the caller's own acknowledged write, and the strands must end identical.
/// </summary>
public class MariaDbLoadTests : MariaDbTestBase
{
    [Test]
    public async Task Each_strand_killed_and_restarted_under_load_loses_nothing_and_the_strands_converge()
    {
        MariaDbServers.RequireFaultControl();
        await ExecuteOnBothAsync(Workload.MySqlSchema);
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString("Preferred Strand=Primary", inner: ";Maximum Pool Size=64"))
            .ConfigureReplay(o => o.BackoffMax = TimeSpan.FromSeconds(1))
            .Build();
        var workload = new Workload(dataSource, Workload.MySqlUpsert);
        using var stop = new CancellationTokenSource();
        var running = workload.RunAsync(8, stop.Token);
        var marks = new List<string>();
        foreach (var (at, server, kill) in new (double, MariaDbServer, bool)[]
        {
            (2, MariaDbServers.Secondary, true), (5, MariaDbServers.Secondary, false),
            (8, MariaDbServers.Primary, true), (11, MariaDbServers.Primary, false),
        })
        {
            var wait = TimeSpan.FromSeconds(at) - workload.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait); // the run's schedule, not synchronisation
            }

            await (kill ? server.KillAsync() : server.StartAsync());
            marks.Add($"{server.Name} {(kill ? "killed" : "restarted")} at {workload.Elapsed.TotalSeconds:0.0} s");
        }

        await Task.Delay(TimeSpan.FromSeconds(14) - workload.Elapsed); // the run's schedule
        await stop.CancelAsync();
        await running;
        using (var converged = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            await dataSource.WaitForReplayAsync(converged.Token);
        }

        var primary = await RowsAsync(HelixStrand.Primary, Workload.Everything);
        var secondary = await RowsAsync(HelixStrand.Secondary, Workload.Everything);
        var lost = workload.LostIn(primary);
        var status = dataSource.GetStatus();
        TestContext.Out.WriteLine(
            $"MariaDB load run: 8 workers, 14 s; {string.Join(", ", marks)}; {workload.Operations} operations; {workload.Errors.Count} errors "
            + $"({string.Join(" | ", workload.Errors.Take(3))}); {workload.StaleReads} stale reads; {lost} of {workload.Acknowledged.Count} acknowledged rows lost; "
            + $"{status.ReplayApplied} replay entries applied; {primary.Count} / {secondary.Count} rows");
        Assert.Multiple(() =>
        {
            Assert.That(workload.Errors.Where(e => !e.Contains(nameof(HelixException), StringComparison.Ordinal)), Is.Empty,
                "a caller may be told that a write's outcome is unknown or that no strand took it in time (a transient HelixException), nothing else");
            Assert.That(workload.StaleReads, Is.Zero, "read-your-writes");
            Assert.That(lost, Is.Zero, "no acknowledged write lost");
            Assert.That(secondary, Is.EqualTo(primary), "identical strands");
            Assert.That(status.Divergences, Is.Zero);
            Assert.That(status.ReplayApplied, Is.GreaterThan(0), "each outage was healed by replay");
        });
    }
}
