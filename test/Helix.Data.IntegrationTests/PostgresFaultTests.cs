using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// Real faults injected into one PostgreSQL strand during a concurrent workload: the other strand keeps serving, no
/// acknowledged write is lost, and after recovery and replay both strands hold identical tables.
/// </summary>
public class PostgresFaultTests : PostgresTestBase
{
    public enum Fault
    {
        /// <summary>The server is stopped at once (<c>pg_ctl stop -m immediate</c>) mid-workload, then started.</summary>
        Kill,

        /// <summary>Every server process is frozen (SIGSTOP) mid-workload, then resumed (SIGCONT).</summary>
        Hang,

        /// <summary>The server is down before the data source opens anything: connections are refused at Open.</summary>
        RefuseAtOpen,
    }

    [Test]
    public async Task The_other_strand_serves_and_the_strands_converge(
        [Values(Fault.Kill, Fault.Hang, Fault.RefuseAtOpen)] Fault fault,
        [Values(HelixStrand.Primary, HelixStrand.Secondary)] HelixStrand strand)
    {
        PostgresServers.RequireFaultControl();
        await ExecuteOnBothAsync(Workload.Schema);
        var server = PostgresServers.Of(strand);
        if (fault == Fault.RefuseAtOpen)
        {
            await server.KillAsync();
        }

        using var loggerFactory = TestLog.Factory();

        // Connect and command timeouts of 2 s bound what a hung strand costs a caller. The workload runs unthrottled
        // for as long as the fault lasts, and a restart after an immediate stop includes crash recovery, which can take
        // seconds on a slow disk: the replay queue gets room for that, since a full queue is not what this test is about.
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString("Preferred Strand=" + strand, inner: ";Timeout=2;Command Timeout=2;Cancellation Timeout=500"))
            .ConfigureReplay(o => o.BackoffMax = TimeSpan.FromMilliseconds(500))
            .UseLoggerFactory(loggerFactory)
            .Build();
        var workload = new Workload(dataSource);
        using var stop = new CancellationTokenSource();
        var running = workload.RunAsync(workers: 8, stop.Token);

        await WaitForOperationsAsync(workload, 100, "the workload got going");
        switch (fault)
        {
            case Fault.Kill:
                await server.KillAsync();
                break;
            case Fault.Hang:
                await server.HangAsync();
                break;
        }

        var beforeFault = workload.Operations;
        await WaitForOperationsAsync(workload, beforeFault + 300, "the other strand kept serving during the fault", TimeSpan.FromSeconds(60));
        var during = dataSource.GetStatus()[strand];
        var recovering = System.Diagnostics.Stopwatch.StartNew();
        if (fault == Fault.Hang)
        {
            await server.ResumeAsync();
        }
        else
        {
            await server.StartAsync();
        }

        recovering.Stop();

        // Keep writing while the strand catches up, so that it has to heal under load.
        var afterRecovery = workload.Operations;
        await WaitForOperationsAsync(workload, afterRecovery + 200, "writes went on during recovery", TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await running;
        using (var converged = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
        {
            try
            {
                await dataSource.WaitForReplayAsync(converged.Token);
            }
            catch (OperationCanceledException)
            {
                var status = dataSource.GetStatus();
                Assert.Fail("Replay did not converge within 90 s: " + string.Join("; ", status.Strands.Select(s => $"{s.Name} {s.State} backlog {s.Backlog} last error {s.LastError}")));
            }
        }

        const string Everything = "SELECT id, worker, v, version FROM events ORDER BY id";
        var primary = await RowsAsync(HelixStrand.Primary, Everything);
        var secondary = await RowsAsync(HelixStrand.Secondary, Everything);
        var lost = await LostAsync(workload);
        TestContext.Out.WriteLine($"{fault} on {strand}: {workload.Operations} operations, {workload.Acknowledged.Count} rows, backlog during the fault {during.Backlog}, state {during.State}, server back after {recovering.ElapsedMilliseconds} ms, replayed {dataSource.GetStatus().ReplayApplied}");
        Assert.Multiple(() =>
        {
            Assert.That(workload.Errors, Is.Empty, "no caller saw an error while the other strand was up");
            Assert.That(during.State, Is.Not.EqualTo(HelixStrandState.Healthy), "the faulted strand was taken out of service");
            Assert.That(during.Backlog, Is.GreaterThan(0), "writes were queued for it");
            Assert.That(lost, Is.Empty, "every acknowledged write is on both strands");
            Assert.That(secondary, Is.EqualTo(primary), "the strands hold identical tables");
            Assert.That(dataSource.GetStatus()[strand].State, Is.EqualTo(HelixStrandState.Healthy));
            Assert.That(dataSource.GetStatus().Divergences, Is.Zero);
        });
    }

    private static async Task WaitForOperationsAsync(Workload workload, long target, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (workload.Operations < target)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}: {workload.Operations} of {target} operations; errors: {string.Join("; ", workload.Errors.Take(5))}");
            }

            await Task.Delay(20);
        }
    }

    private async Task<List<string>> LostAsync(Workload workload)
    {
        var lost = new List<string>();
        foreach (var strand in new[] { HelixStrand.Primary, HelixStrand.Secondary })
        {
            var values = (await RowsAsync(strand, "SELECT id, v FROM events"))
                .Select(r => r.Split('|'))
                .ToDictionary(p => Guid.Parse(p[0]), p => long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
            foreach (var (id, value) in workload.Acknowledged)
            {
                if (!values.TryGetValue(id, out var stored) || stored != value)
                {
                    lost.Add($"{strand}: {id} has {(values.ContainsKey(id) ? stored : "nothing")}, acknowledged {value}");
                }
            }
        }

        return lost;
    }
}
