using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Helix.Data.Simulation;

/// <summary>
/// Runs one scenario: workers write and read through Helix while the scenario's fault lasts, then the strands are
/// calmed and the run waits for them to converge. Checks the invariants: no acknowledged write lost on either strand,
/// no read older than the reader's own acknowledged write, both strands identical.
/// </summary>
public sealed class ScenarioRun(Scenario scenario, Profile profile, string folder, TextWriter log)
{
    private const int KeysPerWorker = 50;
    private const string Upsert = "INSERT INTO kv (id, v, helix_ts) VALUES (@id, @v, @helix_ts) ON CONFLICT (id) DO UPDATE SET v = excluded.v, helix_ts = excluded.helix_ts WHERE kv.helix_ts < excluded.helix_ts";

    // Per key, the value of the last write Helix acknowledged; every write of a key comes from one worker, in order.
    private readonly ConcurrentDictionary<string, long> _acknowledged = new();
    private readonly ConcurrentQueue<(double Ms, bool Write)> _latencies = new();
    private long _ok;
    private long _errors;
    private long _stale;

    public async Task<ScenarioResult> RunAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var primary = new StrandChaos("primary", Path.Combine(folder, "primary.db"));
        var secondary = new StrandChaos("secondary", Path.Combine(folder, "secondary.db"));
        foreach (var strand in new[] { primary, secondary })
        {
            Execute(strand.File, "CREATE TABLE kv (id TEXT PRIMARY KEY, v INTEGER NOT NULL, helix_ts INTEGER NOT NULL)", create: true);
        }

        await using var dataSource = new HelixDataSourceBuilder(ConnectionString(primary, secondary))
            .UseStrandPipeline(HelixStrand.Primary, primary.Pipeline())
            .UseStrandPipeline(HelixStrand.Secondary, secondary.Pipeline())
            .Build();
        var stage = new Stage(primary, secondary, dataSource);
        var seconds = new List<SecondSample>();
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, profile.Workers).Select(w => Task.Run(() => WorkAsync(dataSource, w, stop.Token), CancellationToken.None)).ToArray();
        var sampling = SampleAsync(dataSource, clock, seconds, stop.Token);

        await Task.Delay(profile.Warm, cancellationToken);
        var faultAt = clock.Elapsed.TotalSeconds;
        scenario.Begin(stage);
        for (var tick = 0; clock.Elapsed.TotalSeconds - faultAt < profile.Fault.TotalSeconds; tick++)
        {
            scenario.Tick?.Invoke(stage, tick);
            await Task.Delay(200, cancellationToken);
        }

        scenario.End?.Invoke(stage);
        primary.Calm();
        secondary.Calm();
        var calmAt = clock.Elapsed.TotalSeconds;
        await Task.Delay(profile.Recover, cancellationToken);
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        await sampling;

        var converged = await ConvergeAsync(dataSource, cancellationToken);
        var convergeSeconds = clock.Elapsed.TotalSeconds - calmAt;
        var (lost, identical) = Check(primary, secondary);
        Chart.Save(Path.Combine(folder, scenario.Name + ".png"), $"{scenario.Name}: {scenario.Description}", seconds, faultAt, calmAt);
        return new ScenarioResult(
            scenario.Name,
            Interlocked.Read(ref _ok),
            Interlocked.Read(ref _errors),
            Interlocked.Read(ref _stale),
            lost,
            _acknowledged.Count,
            converged && identical,
            convergeSeconds,
            Percentile(write: false),
            Percentile(write: true));
    }

    private string ConnectionString(StrandChaos primary, StrandChaos secondary)
    {
        // Pooling off: a stopped strand must refuse every open, not serve pooled connections to a file that moved away.
        static string Inner(StrandChaos strand) => $"Data Source={strand.File};Mode=ReadWrite;Pooling=False;Default Timeout=5";
        return $"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{Inner(primary)}\";Secondary=\"{Inner(secondary)}\";Name=sim_{scenario.Name.Replace('-', '_')};"
            + "Replay Poll Interval=100;Replay Backoff=50;Replay Backoff Max=400;Healing Wait=200;Command Timeout=10"
            + (scenario.Settings.Length > 0 ? ";" + scenario.Settings : string.Empty);
    }

    private async Task WorkAsync(HelixDataSource dataSource, int worker, CancellationToken stop)
    {
        var random = new Random(worker);
        var keys = Enumerable.Range(0, KeysPerWorker).Select(k => $"w{worker}-k{k}").ToArray();
        var next = new Dictionary<string, long>();
        while (!stop.IsCancellationRequested)
        {
            // As a request handler does: SQLite answers asynchronous calls at once, and a loop that never yields would
            // keep its pool thread (and starve the sampler's timer).
            await Task.Yield();
            var key = keys[random.Next(keys.Length)];
            var write = random.NextDouble() < 0.7;
            var started = Stopwatch.GetTimestamp();
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(CancellationToken.None);
                if (write)
                {
                    var value = next[key] = next.GetValueOrDefault(key) + 1;
                    await connection.ExecuteAsync(Upsert, new { id = key, v = value });
                    _acknowledged[key] = value;
                }
                else
                {
                    var seen = await connection.QuerySingleOrDefaultAsync<long?>("SELECT v FROM kv WHERE id = @id", new { id = key });
                    if (_acknowledged.TryGetValue(key, out var acknowledged) && (seen ?? 0) < acknowledged)
                    {
                        Interlocked.Increment(ref _stale);
                    }
                }

                Interlocked.Increment(ref _ok);
                _latencies.Enqueue((Stopwatch.GetElapsedTime(started).TotalMilliseconds, write));
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
            {
                // Not acknowledged: the invariants only hold Helix to what it acknowledged.
                Interlocked.Increment(ref _errors);
            }
        }
    }

    /// <summary>One line a second: the live view, and the chart's data.</summary>
    private async Task SampleAsync(HelixDataSource dataSource, Stopwatch clock, List<SecondSample> seconds, CancellationToken stop)
    {
        var (lastOk, lastErrors) = (0L, 0L);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var status = dataSource.GetStatus();
                var (ok, errors) = (Interlocked.Read(ref _ok), Interlocked.Read(ref _errors));
                var sample = new SecondSample(clock.Elapsed.TotalSeconds, ok - lastOk, errors - lastErrors, status[HelixStrand.Primary].Backlog, status[HelixStrand.Secondary].Backlog);
                seconds.Add(sample);
                (lastOk, lastErrors) = (ok, errors);
                await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"  {scenario.Name,-18} {sample.Time,5:0}s  ok/s {sample.Ok,6}  errors/s {sample.Errors,5}  stale {Interlocked.Read(ref _stale)}  primary {status[HelixStrand.Primary].State,-10} backlog {sample.PrimaryBacklog,5}  secondary {status[HelixStrand.Secondary].State,-10} backlog {sample.SecondaryBacklog,5}"));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task<bool> ConvergeAsync(HelixDataSource dataSource, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await dataSource.WaitForReplayAsync(limit.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Acknowledged writes missing on a strand, and whether both strands hold the same rows.</summary>
    private (int Lost, bool Identical) Check(StrandChaos primary, StrandChaos secondary)
    {
        var a = Rows(primary.File);
        var b = Rows(secondary.File);
        var lost = _acknowledged.Count(k => a.GetValueOrDefault(k.Key) < k.Value || b.GetValueOrDefault(k.Key) < k.Value);
        return (lost, a.Count == b.Count && a.All(row => b.TryGetValue(row.Key, out var v) && v == row.Value));
    }

    private static Dictionary<string, long> Rows(string file)
    {
        using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        return connection.Query<(string Id, long V)>("SELECT id, v FROM kv").ToDictionary(r => r.Id, r => r.V);
    }

    private static void Execute(string file, string sql, bool create)
    {
        using var connection = new SqliteConnection($"Data Source={file};Mode={(create ? "ReadWriteCreate" : "ReadWrite")};Pooling=False");
        connection.Open();
        connection.Execute("PRAGMA journal_mode=WAL;");
        connection.Execute(sql);
    }

    private double Percentile(bool write)
    {
        var sorted = _latencies.Where(l => l.Write == write).Select(l => l.Ms).Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[(int)Math.Ceiling(0.99 * sorted.Length) - 1];
    }
}

/// <summary>One second of a scenario.</summary>
public sealed record SecondSample(double Time, long Ok, long Errors, long PrimaryBacklog, long SecondaryBacklog);

/// <summary>What a scenario showed, and whether the invariants held.</summary>
public sealed record ScenarioResult(string Name, long Operations, long Errors, long StaleReads, int LostWrites, int Keys, bool Converged, double ConvergeSeconds, double ReadP99Ms, double WriteP99Ms)
{
    public bool Passed => LostWrites == 0 && StaleReads == 0 && Converged;
}
