using System.Data;
using BenchmarkDotNet.Attributes;
using Helix.Data.FileReplay;
using Helix.Data.Nats;
using Helix.Data.Replay;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Helix.Data.Benchmarks;

/// <summary>What storing one replay entry costs, per queue: the time a write waits for its entry while a strand is behind.</summary>
[MemoryDiagnoser]
public class ReplayEnqueueBenchmarks
{
    private HelixReplayQueue _queue = null!;
    private HelixReplayEntry _entry = null!;

    [Params("Memory", "File", "Nats")]
    public string Queue { get; set; } = "Memory";

    [GlobalSetup]
    public void Setup()
    {
        var folder = Directory.CreateTempSubdirectory("helix-bench-").FullName;
        _queue = Queue switch
        {
            "Memory" => new HelixMemoryReplayQueue(capacity: int.MaxValue),
            "File" => new FileReplayQueue(Path.Combine(folder, "replay.db")),
            _ => new NatsReplayQueue(Servers.NatsUrl, new NatsReplayQueueOptions { StreamName = "bench" + Guid.NewGuid().ToString("N")[..8], SubjectPrefix = "bench" + Guid.NewGuid().ToString("N")[..8], ConsumerPrefix = "bench" }),
        };
        _queue.InitializeAsync(new HelixReplayContext(["primary", "secondary"], [SqliteFactory.Instance, SqliteFactory.Instance], TimeProvider.System, NullLoggerFactory.Instance)).AsTask().GetAwaiter().GetResult();
        _entry = Entry();
    }

    [GlobalCleanup]
    public void Cleanup() => _queue.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>One entry: an upsert with four parameters, as a typical write is.</summary>
    internal static HelixReplayEntry Entry(string? text = null) => new(
        Guid.CreateVersion7(),
        HelixStrand.Secondary,
        1_764_000_000_000_000,
        DateTimeOffset.UtcNow,
        HelixReplayPriority.High,
        [new HelixReplayStatement(
            text ?? "INSERT INTO t (id, name, amount, version) VALUES (@id, @name, @amount, @version) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            CommandType.Text,
            [new SqliteParameter("@id", Guid.CreateVersion7().ToString()), new SqliteParameter("@name", "Ada Lovelace"), new SqliteParameter("@amount", 12.5m), new SqliteParameter("@version", 1L)],
            null)],
        false,
        null);

    [Benchmark]
    public ValueTask Enqueue() => _queue.EnqueueAsync(Fresh());

    // A new id per entry, as every write has; the rest of the entry is shared.
    private HelixReplayEntry Fresh() => new(Guid.CreateVersion7(), _entry.Strand, _entry.Timestamp, _entry.CreatedAt, _entry.Priority, _entry.Statements, false, null);
}

/// <summary>How fast the worker applies a backlog to a strand (a SQLite file), per queue.</summary>
public class ReplayDrainBenchmarks
{
    private const int Entries = 2_000;
    private string _folder = null!;
    private HelixDataSource _dataSource = null!;

    [Params("Memory", "File", "Nats")]
    public string Queue { get; set; } = "Memory";

    [IterationSetup]
    public void Fill()
    {
        _folder = Directory.CreateTempSubdirectory("helix-bench-drain-").FullName;
        string Inner(string name) => $"Data Source={Path.Combine(_folder, name)};Pooling=True";
        foreach (var name in new[] { "a.db", "b.db" })
        {
            using var connection = new SqliteConnection(Inner(name));
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = WAL; CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT, amount NUMERIC, version INTEGER)";
            command.ExecuteNonQuery();
        }

        HelixReplayQueue queue = Queue switch
        {
            "Memory" => new HelixMemoryReplayQueue(capacity: int.MaxValue),
            "File" => new FileReplayQueue(Path.Combine(_folder, "replay.db")),
            _ => new NatsReplayQueue(Servers.NatsUrl, new NatsReplayQueueOptions { StreamName = "drain" + Guid.NewGuid().ToString("N")[..8], SubjectPrefix = "drain" + Guid.NewGuid().ToString("N")[..8], ConsumerPrefix = "drain" }),
        };
        _dataSource = new HelixDataSourceBuilder($"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{Inner("a.db")}\";Secondary=\"{Inner("b.db")}\"")
            .UseReplayQueue(queue)
            .ConfigureReplay(o => o.PollInterval = TimeSpan.FromMilliseconds(10))
            .Build();
        _dataSource.Drain(HelixStrand.Secondary, "benchmark: fill the backlog");
        using var helix = _dataSource.OpenConnection();
        for (var i = 0; i < Entries; i++)
        {
            using var command = helix.CreateCommand();
            command.CommandText = "INSERT INTO t (id, name, amount, version) VALUES (@id, @name, @amount, @version) ON CONFLICT (id) DO UPDATE SET name = excluded.name";
            command.Parameters.Add(new SqliteParameter("@id", Guid.CreateVersion7().ToString()));
            command.Parameters.Add(new SqliteParameter("@name", "Ada Lovelace"));
            command.Parameters.Add(new SqliteParameter("@amount", 12.5m));
            command.Parameters.Add(new SqliteParameter("@version", (long)i));
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Undrains the strand and waits until the worker applied the whole backlog; reported per entry.</summary>
    [Benchmark(OperationsPerInvoke = Entries)]
    public async Task Drain()
    {
        _dataSource.Undrain(HelixStrand.Secondary);
        await _dataSource.WaitForReplayAsync();
    }

    [IterationCleanup]
    public void Cleanup()
    {
        _dataSource.Dispose();
        _dataSource.ReplayQueue?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
