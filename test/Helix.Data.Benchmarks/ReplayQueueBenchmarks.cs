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
    private const int Batch = 200;
    private HelixReplayQueue _queue = null!;
    private HelixReplayEntry _entry = null!;
    private HelixReplayEntry[] _prepared = [];

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
        _prepared = [.. Enumerable.Range(0, Batch).Select(_ => Fresh())];
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

    /// <summary>
    /// Stores entries, reported per entry. The memory queue gets entries made beforehand, into a fresh queue per
    /// invocation (so that what is measured is the enqueue, not making the entry, nor a queue grown to millions); the
    /// durable queues get a new entry each, since they would recognise a repeated id.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public async Task Enqueue()
    {
        if (Queue == "Memory")
        {
            var queue = new HelixMemoryReplayQueue(capacity: Batch);
            foreach (var entry in _prepared)
            {
                await queue.EnqueueAsync(entry);
            }

            return;
        }

        for (var i = 0; i < Batch; i++)
        {
            await _queue.EnqueueAsync(Fresh());
        }
    }

    // A new id per entry, as every write has; the rest of the entry is shared.
    private HelixReplayEntry Fresh() => new(Guid.CreateVersion7(), _entry.Strand, _entry.Timestamp, _entry.CreatedAt, _entry.Priority, _entry.Statements, false, null);
}

/// <summary>How fast the worker applies a backlog to a strand (a SQLite file, or a PostgreSQL server), per queue.</summary>
public class ReplayDrainBenchmarks
{
    private const int Entries = 2_000;
    private string _folder = null!;
    private Stores _stores = null!;
    private HelixDataSource _dataSource = null!;

    [Params("Memory", "File", "Nats")]
    public string Queue { get; set; } = "Memory";

    /// <summary>Gets or sets the strands' provider: <c>Sqlite</c> or <c>Postgres</c>.</summary>
    [Params("Sqlite", "Postgres")]
    public string Strands { get; set; } = "Sqlite";

    [IterationSetup]
    public void Fill()
    {
        _folder = Directory.CreateTempSubdirectory("helix-bench-drain-").FullName;
        _stores = Stores.Create(Strands);
        HelixReplayQueue queue = Queue switch
        {
            "Memory" => new HelixMemoryReplayQueue(capacity: int.MaxValue),
            "File" => new FileReplayQueue(Path.Combine(_folder, "replay.db")),
            _ => new NatsReplayQueue(Servers.NatsUrl, new NatsReplayQueueOptions { StreamName = "drain" + Guid.NewGuid().ToString("N")[..8], SubjectPrefix = "drain" + Guid.NewGuid().ToString("N")[..8], ConsumerPrefix = "drain" }),
        };
        _dataSource = new HelixDataSourceBuilder(_stores.Helix)
            .UseReplayQueue(queue)
            .ConfigureReplay(o => o.PollInterval = TimeSpan.FromMilliseconds(10))
            .Build();
        _dataSource.Drain(HelixStrand.Secondary, "benchmark: fill the backlog");
        using var helix = _dataSource.OpenConnection();
        for (var i = 0; i < Entries; i++)
        {
            using var command = helix.CreateCommand();
            command.CommandText = "INSERT INTO t (id, name, amount, version) VALUES (@id, @name, @amount, @version)";
            command.Parameters.Add(Parameter(command, "@id", Guid.CreateVersion7().ToString()));
            command.Parameters.Add(Parameter(command, "@name", "Ada Lovelace"));
            command.Parameters.Add(Parameter(command, "@amount", 12.5m));
            command.Parameters.Add(Parameter(command, "@version", (long)i));
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
        _stores.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static System.Data.Common.DbParameter Parameter(HelixCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        return parameter;
    }
}
