using System.Data;
using System.Diagnostics;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Nats;
using Helix.Data.Replay;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// Issue 19, items 2, 3 and 6, with a nats-server of the test's own that is stopped for real (and a PostgreSQL strand
/// stopped with <c>pg_ctl stop -m immediate</c>): what a write does when the durable queue cannot be reached.
/// </summary>
public class NatsOutageTests : PostgresTestBase
{
    private static readonly HelixReplayContext Context = new(["primary", "secondary"], [NpgsqlFactory.Instance, NpgsqlFactory.Instance], TimeProvider.System, NullLoggerFactory.Instance);

    private NatsServerProcess _nats = null!;

    [SetUp]
    public async Task StartNatsAsync()
    {
        PostgresServers.RequireFaultControl();
        _nats = await NatsServerProcess.StartAsync();
        await ExecuteOnBothAsync("CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)");
    }

    [TearDown]
    public void StopNats() => _nats?.Dispose();

    /// <summary>A NATS queue on the test's server, initialized (so that stopping the server tests what a running queue does), answering within 1 s.</summary>
    private async Task<NatsReplayQueue> QueueAsync()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..10];
        var queue = new NatsReplayQueue(_nats.Url, new NatsReplayQueueOptions { StreamName = name, SubjectPrefix = name, ConsumerPrefix = name, PublishTimeout = TimeSpan.FromSeconds(1) });
        await queue.InitializeAsync(Context);
        return queue;
    }

    private HelixDataSource Build(NatsReplayQueue queue, string extra = "") =>
        new HelixDataSourceBuilder(HelixConnectionString("Preferred Strand=Secondary" + extra, inner: ";Timeout=2;Command Timeout=5"))
            .UseReplayQueue(queue)
            .ConfigureReplay(o => o.BackoffMax = TimeSpan.FromMilliseconds(500))
            .UseLoggerFactory(TestLog.Factory())
            .Build();

    [Test]
    public async Task When_NATS_cannot_store_the_entry_of_a_write_the_primary_applied_the_secondary_leaves_service_and_a_resync_brings_it_back()
    {
        await using var queue = await QueueAsync();
        await using var dataSource = Build(queue);
        await using var connection = dataSource.CreateConnection();
        await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 1)");

        _nats.Kill();
        await PostgresServers.Secondary.KillAsync();
        var rows = await connection.ExecuteAsync("INSERT INTO kv VALUES (2, 2)");
        var status = dataSource.GetStatus();
        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.EqualTo(1), "the primary applied it: acknowledged");
            Assert.That(status[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.OutOfSync), "it misses an acknowledged write that no queue holds");
            Assert.That(status[HelixStrand.Secondary].OutOfSyncReason, Does.Contain("could not store").And.Contain("NATS"));
            Assert.That(status.ReplayDropped, Is.Zero, "not dropped: kept on the primary, for the resync to copy");
        });

        var timer = Stopwatch.StartNew();
        await connection.ExecuteAsync("INSERT INTO kv VALUES (3, 3)");
        var later = timer.Elapsed;
        var read = (await connection.QueryAsync<int>("SELECT id FROM kv ORDER BY id")).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(later, Is.LessThan(TimeSpan.FromSeconds(1)), "later writes need neither the queue nor the strand");
            Assert.That(read, Is.EqualTo(new[] { 1, 2, 3 }), "reads never go to the strand that misses writes, preferred or not");
        });

        await PostgresServers.Secondary.StartAsync();
        await _nats.StartAgainAsync();
        await Eventually.SucceedsAsync(() => dataSource.BeginResyncAsync(HelixStrand.Secondary), TimeSpan.FromSeconds(30), "NATS answers again, and the old backlog can be purged");
        var snapshot = (await new NpgsqlConnection(PostgresServers.Primary.ConnectionString(Database)).QueryAsync<(int Id, int V)>("SELECT id, v FROM kv")).ToList();
        await connection.ExecuteAsync("INSERT INTO kv VALUES (4, 4)"); // after the copy's snapshot: the queue brings it
        await ExecuteAsync(HelixStrand.Secondary, "DELETE FROM kv; " + string.Join(" ", snapshot.Select(r => $"INSERT INTO kv VALUES ({r.Id}, {r.V});")));
        dataSource.CompleteResync(HelixStrand.Secondary);
        using (var converged = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await dataSource.WaitForReplayAsync(converged.Token);
        }

        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT * FROM kv ORDER BY id"), Is.EqualTo(await RowsAsync(HelixStrand.Primary, "SELECT * FROM kv ORDER BY id")).And.Count.EqualTo(4));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_write_NATS_cannot_record_while_a_strand_is_behind_is_refused_with_a_HelixException_not_a_cancellation(bool synchronous)
    {
        await using var queue = await QueueAsync();
        await using var dataSource = Build(queue);
        await using var connection = dataSource.CreateConnection();
        await PostgresServers.Secondary.KillAsync();
        await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 1)"); // the secondary faults: its entry goes to NATS
        Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.Failed));

        _nats.Kill();
        var thrown = Assert.CatchAsync(async () => _ = synchronous ? connection.Execute("INSERT INTO kv VALUES (2, 2)") : await connection.ExecuteAsync("INSERT INTO kv VALUES (2, 2)"));
        Assert.Multiple(async () =>
        {
            Assert.That(thrown, Is.TypeOf<HelixException>(), $"a DbException the caller handles, not a cancellation it never asked for: {thrown}");
            Assert.That(thrown!.Message, Does.Contain("refused before it ran").And.Contain("Nothing was written"));
            Assert.That(((HelixException)thrown).IsTransient, Is.True);
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT id FROM kv ORDER BY id"), Is.EqualTo(new[] { "1" }), "nothing written");
        });
    }

    [Test]
    public async Task A_password_in_the_Replay_URL_shows_nowhere()
    {
        var logs = new CollectingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var url = _nats.Url.Replace("nats://", "nats://helix:s3cr3t-pass@", StringComparison.Ordinal);
        _nats.Kill(); // the queue cannot be initialized: its errors, which quote the server, are logged
        await using (var dataSource = new HelixDataSourceBuilder(HelixConnectionString($"Replay={url}?publish-timeout=1;Drain Watch={url}"))
            .ConfigureReplay(o => o.BackoffMax = TimeSpan.FromMilliseconds(200))
            .UseLoggerFactory(loggerFactory)
            .Build())
        {
            await Eventually.SucceedsAsync(() => Task.FromResult(logs.Messages.Any(m => m.Contains("cannot be initialized", StringComparison.Ordinal)) ? 0 : throw new InvalidOperationException("no error logged yet")), TimeSpan.FromSeconds(30), "the queue's error is logged");
            Assert.Multiple(() =>
            {
                Assert.That(dataSource.ConnectionString, Does.Not.Contain("s3cr3t").And.Contain("helix:***@"));
                Assert.That(new HelixConnectionStringBuilder(dataSource.ConnectionString).ToString(), Does.Not.Contain("s3cr3t"));
                Assert.That(logs.Messages, Has.Some.Contains("helix:***@"), "the data source's creation is logged, masked");
                Assert.That(logs.Messages, Has.None.Contains("s3cr3t"));
            });
        }
    }

    private sealed class CollectingLoggerProvider : ILoggerProvider, ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();

        public IReadOnlyCollection<string> Messages => _messages;

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _messages.Enqueue(formatter(state, exception) + (exception is null ? string.Empty : " " + exception));

        public void Dispose()
        {
        }
    }
}
