using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Npgsql;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// One strand turns slow, not down: the secondary PostgreSQL server is reached through a proxy that adds 150 ms each
/// way for the middle of the run. With Concurrent writes callers wait for the slow strand; with Adaptive writes the
/// slow strand is deferred and callers wait only for the fast one. Both runs must converge. The p99s are printed (and
/// written to <c>HELIX_SIMULATION_REPORT</c> when set); docs/strategies.md records a run.
/// </summary>
public class SlowStrandSimulationTests : PostgresTestBase
{
    private const int Workers = 8;
    private static readonly TimeSpan OneWay = TimeSpan.FromMilliseconds(150);

    [Test]
    public async Task A_slow_strand_paces_callers_with_Concurrent_writes_and_not_with_Adaptive_writes()
    {
        var concurrent = await RunAsync("Concurrent");
        var adaptive = await RunAsync("Adaptive");
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Slow strand simulation: {Workers} writers, 3 s fast, 8 s with the secondary {OneWay.TotalMilliseconds:0} ms away each way, 3 s fast again.")
            .AppendLine("strategy    writes(slow phase)  p50 ms   p99 ms   max ms  deferred  converged  checksum")
            .AppendLine(concurrent.Line)
            .AppendLine(adaptive.Line)
            .ToString();
        await TestContext.Out.WriteLineAsync(report);
        if (Environment.GetEnvironmentVariable("HELIX_SIMULATION_REPORT") is { Length: > 0 } path)
        {
            await File.WriteAllTextAsync(path, report);
        }

        Assert.Multiple(() =>
        {
            Assert.That(concurrent.P99, Is.GreaterThanOrEqualTo(2 * OneWay.TotalMilliseconds), "with Concurrent writes every caller waits for the slow strand's round trip");
            Assert.That(adaptive.P99, Is.LessThan(concurrent.P99 / 3), "with Adaptive writes callers wait for the fast strand");
            Assert.That(adaptive.Deferred, Is.True, "Adaptive deferred the slow strand");
            Assert.That(concurrent.Deferred, Is.False);
            Assert.That(concurrent.Converged && adaptive.Converged, Is.True, "both strands hold the same rows after each run");
            Assert.That(adaptive.HealthyAtEnd, Is.True, "once fast again the deferred strand caught up and took writes directly");
        });
    }

    private async Task<Result> RunAsync(string strategy)
    {
        var table = "sim_" + strategy.ToLowerInvariant();
        await ExecuteOnBothAsync($"CREATE TABLE {table} (id uuid PRIMARY KEY, worker int NOT NULL, v bigint NOT NULL, version bigint NOT NULL)");
        await using var proxy = new LatencyProxy(new NpgsqlConnectionStringBuilder(PostgresServers.Secondary.AdminConnectionString).Port);
        var secondary = new NpgsqlConnectionStringBuilder(PostgresServers.Secondary.ConnectionString(Database)) { Port = proxy.Port, MaxPoolSize = 32 }.ConnectionString;
        var primary = new NpgsqlConnectionStringBuilder(PostgresServers.Primary.ConnectionString(Database)) { MaxPoolSize = 32 }.ConnectionString;
        await using var dataSource = HelixDataSource.Create(
            $"Helix;Provider=Npgsql;Primary=\"{primary}\";Secondary=\"{secondary}\";Write Strategy={strategy};Preferred Strand=Primary;Replay Batch Size=500;Replay Poll Interval=200;Name=sim_{strategy.ToLowerInvariant()}");
        var upsert = $"INSERT INTO {table} (id, worker, v, version) VALUES (@id, @worker, @v, @helix_ts) ON CONFLICT (id) DO UPDATE SET v = excluded.v, version = excluded.version WHERE {table}.version < excluded.version";
        var slowLatencies = new ConcurrentBag<double>();
        var slow = 0;
        var deferred = false;
        using var stop = new CancellationTokenSource();

        async Task WorkerAsync(int worker)
        {
            var ids = Enumerable.Range(0, 50).Select(_ => Guid.CreateVersion7()).ToArray();
            var random = new Random(worker);
            for (long v = 0; !stop.IsCancellationRequested; v++)
            {
                var started = Stopwatch.GetTimestamp();
                var inSlowPhase = Volatile.Read(ref slow) == 1;
                await using (var connection = await dataSource.OpenConnectionAsync())
                {
                    await connection.ExecuteAsync(upsert, new { id = ids[random.Next(ids.Length)], worker, v });
                }

                if (inSlowPhase && Volatile.Read(ref slow) == 1)
                {
                    slowLatencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }

                await Task.Delay(10);
            }
        }

        var running = Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(() => WorkerAsync(w))));
        var watching = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                deferred |= dataSource.GetStatus()[HelixStrand.Secondary].IsDeferred;
                await Task.Delay(50);
            }
        });
        await Task.Delay(TimeSpan.FromSeconds(3));
        proxy.Delay = OneWay;
        Volatile.Write(ref slow, 1);
        await Task.Delay(TimeSpan.FromSeconds(8));
        Volatile.Write(ref slow, 0);
        proxy.Delay = TimeSpan.Zero;
        await Task.Delay(TimeSpan.FromSeconds(3));
        await stop.CancelAsync();
        await running;
        await watching;

        var healthyAtEnd = false;
        var converged = false;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            try
            {
                await dataSource.WaitForReplayAsync(timeout.Token);
                healthyAtEnd = true;
            }
            catch (OperationCanceledException)
            {
                // reported below
            }
        }

        var rows = $"SELECT id, worker, v, version FROM {table} ORDER BY id";
        var primaryRows = await RowsAsync(HelixStrand.Primary, rows);
        var secondaryRows = await RowsAsync(HelixStrand.Secondary, rows);
        converged = primaryRows.SequenceEqual(secondaryRows) && primaryRows.Count > 0;
        var sorted = slowLatencies.OrderBy(x => x).ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        return new Result(strategy, sorted.Length, Percentile(0.50), Percentile(0.99), sorted.LastOrDefault(), deferred, converged, healthyAtEnd, Checksum(primaryRows));
    }

    private sealed record Result(string Strategy, int Writes, double P50, double P99, double Max, bool Deferred, bool Converged, bool HealthyAtEnd, string Checksum)
    {
        public string Line => string.Create(
            CultureInfo.InvariantCulture,
            $"{Strategy,-11} {Writes,18}  {P50,7:0.0}  {P99,7:0.0}  {Max,7:0.0}  {(Deferred ? "yes" : "no"),8}  {(Converged ? "yes" : "no"),9}  {Checksum}");
    }
}
