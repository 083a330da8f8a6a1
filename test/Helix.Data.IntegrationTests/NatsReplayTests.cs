using System.Data;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Nats;
using Helix.Data.Replay;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Npgsql;

namespace Helix.Data.IntegrationTests;

/// <summary>The NATS JetStream replay queue against a real nats-server (2.9 on this machine).</summary>
public class NatsReplayTests : PostgresTestBase
{
    private static readonly HelixReplayContext Context = new(["primary", "secondary"], [NpgsqlFactory.Instance, NpgsqlFactory.Instance], TimeProvider.System, NullLoggerFactory.Instance);

    private static NatsReplayQueueOptions Isolated(Action<NatsReplayQueueOptions>? configure = null)
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..10];
        var options = new NatsReplayQueueOptions { StreamName = name, SubjectPrefix = name, ConsumerPrefix = name };
        configure?.Invoke(options);
        return options;
    }

    private static HelixReplayEntry Entry(string text, HelixStrand strand = HelixStrand.Secondary, HelixReplayPriority priority = HelixReplayPriority.High, Guid? id = null) =>
        new(id ?? Guid.CreateVersion7(), strand, 1, DateTimeOffset.UtcNow, priority, [new HelixReplayStatement(text, CommandType.Text, [new NpgsqlParameter("v", 42)], null)], false, null);

    private static async Task<NatsReplayQueue> QueueAsync(NatsReplayQueueOptions options)
    {
        var queue = new NatsReplayQueue(await NatsServer.UrlAsync(), options);
        await queue.InitializeAsync(Context);
        return queue;
    }

    [Test]
    public async Task An_entry_round_trips_and_is_gone_once_completed()
    {
        await using var queue = await QueueAsync(Isolated());
        var entry = Entry("INSERT INTO t VALUES (@v)");
        await queue.EnqueueAsync(entry);
        Assert.That(await queue.GetBacklogAsync(HelixStrand.Secondary), Is.EqualTo(1));
        var read = (await queue.ReadAsync(HelixStrand.Secondary, 10)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(read.Id, Is.EqualTo(entry.Id));
            Assert.That(read.Statements[0].CommandText, Is.EqualTo("INSERT INTO t VALUES (@v)"));
            Assert.That(read.Statements[0].Parameters.Single(), Is.InstanceOf<NpgsqlParameter>().And.Property("Value").EqualTo(42));
        });
        await queue.CompleteAsync(read);
        Assert.Multiple(async () =>
        {
            Assert.That(await queue.GetBacklogAsync(HelixStrand.Secondary), Is.Zero);
            Assert.That(await queue.ReadAsync(HelixStrand.Secondary, 10), Is.Empty);
        });
    }

    [Test]
    public async Task Processes_starting_together_on_a_new_stream_all_open_it()
    {
        // Each process of a fleet opens the queue as it starts; on a new stream they all find none and try to create
        // it (and its intents bucket) at once.
        for (var round = 0; round < 100; round++)
        {
            var options = Isolated();
            var queues = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => QueueAsync(options)));
            foreach (var queue in queues)
            {
                await queue.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task A_republished_entry_is_stored_once()
    {
        await using var queue = await QueueAsync(Isolated());
        var entry = Entry("x");
        await queue.EnqueueAsync(entry);
        await queue.EnqueueAsync(entry);
        var read = await queue.ReadAsync(HelixStrand.Secondary, 10);
        Assert.Multiple(async () =>
        {
            Assert.That(read, Has.Count.EqualTo(1));
            Assert.That(await queue.GetBacklogAsync(HelixStrand.Secondary), Is.EqualTo(1), "delivered, not yet acknowledged");
        });
    }

    [Test]
    public async Task Entries_come_back_in_order_also_after_they_were_given_back()
    {
        await using var queue = await QueueAsync(Isolated());
        for (var i = 0; i < 60; i++)
        {
            await queue.EnqueueAsync(Entry($"e{i:00}"));
        }

        await queue.EnqueueAsync(Entry("other strand", HelixStrand.Primary));
        var seen = new List<string>();
        var first = await queue.ReadAsync(HelixStrand.Secondary, 25);
        await queue.ReleaseAsync(first); // the strand faulted: everything read goes back
        while (seen.Count < 60)
        {
            var batch = await queue.ReadAsync(HelixStrand.Secondary, 25);
            Assert.That(batch, Is.Not.Empty, "entries were lost");
            foreach (var entry in batch)
            {
                seen.Add(entry.Statements[0].CommandText);
                await queue.CompleteAsync(entry);
            }
        }

        Assert.Multiple(async () =>
        {
            Assert.That(seen, Is.EqualTo(Enumerable.Range(0, 60).Select(i => $"e{i:00}")));
            Assert.That(await queue.GetBacklogAsync(HelixStrand.Primary), Is.EqualTo(1), "the other strand's entry is its own");
        });
    }

    [Test]
    public async Task High_priority_goes_first_with_a_turn_for_low_after_the_ratio_and_strict_mode_waits()
    {
        async Task<List<string>> ServedAsync(bool strict)
        {
            await using var queue = await QueueAsync(Isolated(o => (o.PriorityRatio, o.StrictPriority) = (2, strict)));
            foreach (var (text, priority) in new[] { ("h1", HelixReplayPriority.High), ("l1", HelixReplayPriority.Low), ("h2", HelixReplayPriority.High), ("h3", HelixReplayPriority.High), ("h4", HelixReplayPriority.High) })
            {
                await queue.EnqueueAsync(Entry(text, priority: priority));
            }

            var served = new List<string>();
            for (var i = 0; i < 5; i++)
            {
                var entry = (await queue.ReadAsync(HelixStrand.Secondary, 1)).Single();
                served.Add(entry.Statements[0].CommandText);
                await queue.CompleteAsync(entry);
            }

            return served;
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await ServedAsync(strict: false), Is.EqualTo(new[] { "h1", "h2", "l1", "h3", "h4" }));
            Assert.That(await ServedAsync(strict: true), Is.EqualTo(new[] { "h1", "h2", "h3", "h4", "l1" }));
        });
    }

    [Test]
    public async Task An_entry_a_strand_keeps_refusing_is_dead_lettered_to_its_subject_and_reported()
    {
        await ExecuteOnBothAsync("CREATE TABLE t (id int PRIMARY KEY)");
        await ExecuteAsync(HelixStrand.Secondary, "ALTER TABLE t ADD COLUMN extra int NOT NULL DEFAULT 0; ALTER TABLE t ADD CONSTRAINT no_two CHECK (id <> 2)");
        var options = Isolated();
        var divergences = new List<HelixDivergence>();
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString(inner: ";Timeout=2;Command Timeout=2"))
            .UseReplayQueue(new NatsReplayQueue(await NatsServer.UrlAsync(), options))
            .ConfigureReplay(o => (o.MaxAttempts, o.BackoffInitial, o.BackoffMax, o.PollInterval) = (3, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100)))
            .OnDivergence(divergences.Add)
            .Build();
        dataSource.Drain(HelixStrand.Secondary, "test");
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            foreach (var id in new[] { 1, 2, 3 })
            {
                await connection.ExecuteAsync("INSERT INTO t VALUES (@id)", new { id });
            }
        }

        dataSource.Undrain(HelixStrand.Secondary);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await dataSource.WaitForReplayAsync(timeout.Token);
        }

        await using var nats = new NatsConnection(new NatsOpts { Url = await NatsServer.UrlAsync() });
        var js = new NatsJSContext(nats);
        var stream = await js.GetStreamAsync(options.StreamName, new NATS.Client.JetStream.Models.StreamInfoRequest { SubjectsFilter = ">" });
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT id FROM t ORDER BY id"), Is.EqualTo(new[] { "1", "3" }), "the entry behind it was applied");
            Assert.That(divergences.Single().Kind, Is.EqualTo(HelixDivergenceKind.ReplayDeadLettered));
            Assert.That(divergences.Single().Message, Does.Contain("failed 3 times").And.Contain("no_two"));
            Assert.That(stream.Info.State.Subjects, Does.ContainKey($"{options.SubjectPrefix}.dead.secondary"));
        });
    }

    [Test]
    public async Task An_outage_far_longer_than_the_ack_wait_loses_nothing()
    {
        PostgresServers.RequireFaultControl();
        await ExecuteOnBothAsync("CREATE TABLE t (id int PRIMARY KEY)");
        var options = Isolated(o => o.AckWait = TimeSpan.FromSeconds(1));
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString(inner: ";Timeout=1;Command Timeout=2;Cancellation Timeout=200"))
            .UseReplayQueue(new NatsReplayQueue(await NatsServer.UrlAsync(), options))
            .ConfigureReplay(o => (o.BackoffInitial, o.BackoffMax, o.PollInterval) = (TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(100)))
            .Build();
        await PostgresServers.Secondary.KillAsync();
        var started = DateTime.UtcNow;
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            var id = 0;
            while (DateTime.UtcNow - started < TimeSpan.FromSeconds(6))
            {
                await connection.ExecuteAsync("INSERT INTO t VALUES (@id)", new { id = id++ });
            }
        }

        // Every probe of the strand got the entries delivered again: far more deliveries than one ack wait allows.
        await PostgresServers.Secondary.StartAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await dataSource.WaitForReplayAsync(timeout.Token);
        }

        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT id FROM t ORDER BY id"), Is.EqualTo(await RowsAsync(HelixStrand.Primary, "SELECT id FROM t ORDER BY id")).And.Count.GreaterThan(10));
    }

    /// <summary>
    /// NATS has no synchronous API, so a synchronous enqueue waits for the asynchronous publish: on a thread whose
    /// synchronization context is never pumped (a UI thread blocked in the call), nothing it waits for may need that
    /// context.
    /// </summary>
    [Test]
    public async Task A_synchronous_enqueue_on_a_single_threaded_synchronization_context_completes()
    {
        await using var queue = await QueueAsync(Isolated());
        var (returned, failure, posted) = NeverPumpedContext.Run(() => queue.Enqueue(Entry("INSERT INTO t VALUES (@v)")), TimeSpan.FromSeconds(30));
        Assert.Multiple(async () =>
        {
            Assert.That(returned, Is.True, "Enqueue did not return within 30 s: it waits for something that needs the blocked thread's context");
            Assert.That(failure, Is.Null);
            Assert.That(posted, Is.Zero, "nothing was posted back to the blocked thread's context");
            Assert.That(await queue.GetBacklogAsync(HelixStrand.Secondary), Is.EqualTo(1));
        });
    }

    /// <summary>Back-pressure: every consumer of the queue takes the configured limit of unacknowledged entries, and never drops one for being delivered often.</summary>
    [Test]
    public async Task Max_ack_pending_from_the_Replay_URL_reaches_every_consumer()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..10];
        await using var dataSource = HelixDataSource.Create(HelixConnectionString($"Replay={await NatsServer.UrlAsync()}?stream={name}&subject-prefix={name}&consumer-prefix={name}&max-ack-pending=50"));
        await using var connection = await dataSource.OpenConnectionAsync(); // the worker has opened the queue once the data source serves
        await using var nats = new NatsConnection(new NatsOpts { Url = await NatsServer.UrlAsync() });
        var js = new NatsJSContext(nats);
        var configs = new List<NATS.Client.JetStream.Models.ConsumerConfig>();
        await Eventually.ThatAsync(
            async () =>
            {
                configs.Clear();
                await foreach (var consumer in js.ListConsumersAsync(name))
                {
                    configs.Add(consumer.Info.Config);
                }

                return configs.Count == 4;
            },
            "the queue made its four consumers (two strands, two priorities)");
        Assert.Multiple(() =>
        {
            Assert.That(configs.Select(c => c.MaxAckPending), Is.All.EqualTo(50));
            Assert.That(configs.Select(c => c.MaxDeliver), Is.All.EqualTo(-1), "never dropped for redeliveries");
        });
    }

    [Test]
    public async Task Replay_nats_in_the_connection_string_makes_the_queue()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString($"Replay={await NatsServer.UrlAsync()};Replay Worker=false"));
        Assert.That(dataSource.ReplayQueue, Is.InstanceOf<NatsReplayQueue>());
    }
}
