using System.Collections.Concurrent;
using System.Diagnostics;
using Dapper;

namespace Helix.Data.IntegrationTests.Support;

/// <summary>
/// Concurrent workers that write through Helix and read their own writes back. Each worker owns its rows and writes
/// them with last-write-wins upserts guarded by <c>helix_ts</c>, so a replay applied late or twice is harmless. It
/// records what was acknowledged, what failed, and per-second throughput and latency.
/// </summary>
public sealed class Workload
{
    public const string Schema = """
        CREATE TABLE events (id uuid PRIMARY KEY, worker int NOT NULL, v bigint NOT NULL, version bigint NOT NULL);
        """;

    /// <summary>The same table on MySQL and MariaDB.</summary>
    public const string MySqlSchema = """
        CREATE TABLE events (id CHAR(36) PRIMARY KEY, worker INT NOT NULL, v BIGINT NOT NULL, version BIGINT NOT NULL);
        """;

    /// <summary>The upsert on MySQL and MariaDB: the newer <c>helix_ts</c> wins (assignments run left to right).</summary>
    public const string MySqlUpsert = """
        INSERT INTO events (id, worker, v, version) VALUES (@id, @worker, @v, @helix_ts)
        ON DUPLICATE KEY UPDATE v = IF(VALUES(version) > version, VALUES(v), v), version = GREATEST(version, VALUES(version))
        """;

    private const string PostgresUpsert = """
        INSERT INTO events (id, worker, v, version) VALUES (@id, @worker, @v, @helix_ts)
        ON CONFLICT (id) DO UPDATE SET v = excluded.v, version = excluded.version WHERE events.version < excluded.version
        """;

    /// <summary>Every row, in the form <see cref="LostIn"/> reads (<c>id|worker|v|version</c>).</summary>
    public const string Everything = "SELECT id, worker, v, version FROM events ORDER BY id";

    private readonly string _upsert;

    private readonly HelixDataSource _dataSource;
    private readonly ConcurrentDictionary<Guid, long> _acknowledged = new();
    private readonly ConcurrentDictionary<Guid, ConcurrentBag<long>> _unknown = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly ConcurrentDictionary<int, ConcurrentBag<double>> _latencies = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _operations;
    private long _staleReads;

    /// <param name="dataSource">The data source the workers write and read through.</param>
    /// <param name="upsert">The upsert, when the strands are not PostgreSQL (<see cref="MySqlUpsert"/>).</param>
    public Workload(HelixDataSource dataSource, string upsert = PostgresUpsert) => (_dataSource, _upsert) = (dataSource, upsert);

    /// <summary>Gets the last value acknowledged for each row.</summary>
    public IReadOnlyDictionary<Guid, long> Acknowledged => _acknowledged;

    public IReadOnlyCollection<string> Errors => _errors;

    public long Operations => Interlocked.Read(ref _operations);

    /// <summary>Gets how many reads returned something other than the last acknowledged write of that row.</summary>
    public long StaleReads => Interlocked.Read(ref _staleReads);

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Per second since the start: operations completed and their latencies in milliseconds.</summary>
    public IReadOnlyDictionary<int, ConcurrentBag<double>> Latencies => _latencies;

    /// <summary>
    /// How many acknowledged rows a strand's rows (<see cref="Everything"/>) miss, or hold with another value than the last
    /// one acknowledged; a later write whose outcome the caller was told is unknown (<see cref="HelixException.IsOutcomeUnknown"/>)
    /// may have been applied, so its value counts as kept too.
    /// </summary>
    public int LostIn(IEnumerable<string> rows)
    {
        var stored = rows.Select(r => r.Split('|')).ToDictionary(p => Guid.Parse(p[0]), p => long.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture));
        return _acknowledged.Count(a => !stored.TryGetValue(a.Key, out var v)
            || v != a.Value && !(v > a.Value && _unknown.TryGetValue(a.Key, out var unknown) && unknown.Contains(v)));
    }

    public Task RunAsync(int workers, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkerAsync(w, stop), CancellationToken.None)));

    private async Task WorkerAsync(int worker, CancellationToken stop)
    {
        var rows = new List<Guid>();
        var values = new Dictionary<Guid, long>();
        long next = 0;
        while (!stop.IsCancellationRequested)
        {
            // Two writes (a new row, an update of an older one) and a read of the row just written.
            var id = rows.Count < 20 || next % 3 == 0 ? Guid.CreateVersion7() : rows[(int)(next % rows.Count)];
            var value = ++next;
            if (await TimedAsync(() => WriteAsync(id, worker, value), onOutcomeUnknown: () => _unknown.GetOrAdd(id, _ => []).Add(value)))
            {
                if (!values.ContainsKey(id))
                {
                    rows.Add(id);
                }

                values[id] = value;
                _acknowledged[id] = value;
                var read = 0L;
                if (await TimedAsync(async () => read = await ReadAsync(id)) && read != value)
                {
                    Interlocked.Increment(ref _staleReads);
                    _errors.Enqueue($"worker {worker} read {read} for {id} after {value} was acknowledged");
                }
            }
        }
    }

    private async Task WriteAsync(Guid id, int worker, long value)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(_upsert, new { id, worker, v = value });
    }

    private async Task<long> ReadAsync(Guid id)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT v FROM events WHERE id = @id", new { id });
    }

    private async Task<bool> TimedAsync(Func<Task> operation, Action? onOutcomeUnknown = null)
    {
        var started = _clock.Elapsed;
        try
        {
            await operation();
            var second = (int)started.TotalSeconds;
            _latencies.GetOrAdd(second, _ => []).Add((_clock.Elapsed - started).TotalMilliseconds);
            Interlocked.Increment(ref _operations);
            return true;
        }
#pragma warning disable CA1031 // every error a caller would see is recorded and asserted on
        catch (Exception e)
#pragma warning restore CA1031
        {
            if (e is HelixException { IsOutcomeUnknown: true })
            {
                onOutcomeUnknown?.Invoke();
            }

            _errors.Enqueue($"{started.TotalSeconds:0.0}s {e.GetType().Name}: {e.Message}");
            return false;
        }
    }
}
