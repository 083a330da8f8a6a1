using Helix.Data.FileReplay;
using Helix.Data.Replay;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>The local durable replay queue: entries on disk, shared between processes, in order, de-duplicated.</summary>
public class FileReplayQueueTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private static FaultyStrands Strands(string queueFile, string extra = "") => new(extra, b => b.UseReplayQueue(new FileReplayQueue(queueFile)));

    [Test]
    public async Task Entries_wait_on_disk_and_are_replayed_in_order()
    {
        await using var strands = Strands(Path.Combine(Path.GetTempPath(), "helix-tests", Guid.NewGuid().ToString("N"), "replay.db"));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)");
        strands.Secondary.FailExecutions(FaultPlan.Busy, text => !text.Contains("sqlite_master", StringComparison.Ordinal));
        await using var connection = await OpenAsync(strands.DataSource);
        for (var i = 0; i < 50; i++)
        {
            await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES (@id, @v) ON CONFLICT (id) DO UPDATE SET v = excluded.v", ("id", i % 5), ("v", i));
        }

        var queue = (FileReplayQueue)strands.DataSource.ReplayQueue!;
        Assert.That(await queue.GetBacklogAsync(HelixStrand.Secondary), Is.EqualTo(50));
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t ORDER BY id"), Is.EqualTo(strands.Files.Rows(HelixStrand.Primary, "SELECT * FROM t ORDER BY id")));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT v FROM t WHERE id = 4"), Is.EqualTo(new[] { "49" }));
        });
        Assert.That(await queue.GetBacklogAsync(HelixStrand.Secondary), Is.Zero, "applied batches are removed from the file");
    }

    [Test]
    public async Task Entries_left_by_a_process_that_ended_are_replayed_by_the_next_one()
    {
        var folder = Path.Combine(Path.GetTempPath(), "helix-tests", Guid.NewGuid().ToString("N"));
        var queueFile = Path.Combine(folder, "replay.db");
        using var files = new SqliteStrands("leftover");
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        var secondaryDown = new FaultPlan();
        secondaryDown.FailExecutions(FaultPlan.Busy);
        secondaryDown.FailOpens(FaultPlan.Busy);
        HelixDataSource Build(FaultPlan secondary) => new HelixDataSourceBuilder("Helix")
            .UsePrimary(new FaultySqliteDataSource(files.Inner(HelixStrand.Primary), new FaultPlan()))
            .UseSecondary(new FaultySqliteDataSource(files.Inner(HelixStrand.Secondary), secondary))
            .UseReplayQueue(new FileReplayQueue(queueFile))
            .ConfigureReplay(o => (o.BackoffInitial, o.BackoffMax) = (TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50)))
            .Build();

        await using (var first = Build(secondaryDown))
        {
            await using var connection = await OpenAsync(first);
            for (var i = 0; i < 10; i++)
            {
                await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES (@id)", ("id", i));
            }
        }

        Assert.That(files.Rows(HelixStrand.Secondary, "SELECT count(*) FROM t"), Is.EqualTo(new[] { "0" }), "the first process ended before replaying");
        await using var second = Build(new FaultPlan());
        await Wait.UntilAsync(() => files.Rows(HelixStrand.Secondary, "SELECT count(*) FROM t").Single() == "10", "the second process replayed what the first left");
        await Wait.ForReplayAsync(second);
        Assert.That(files.Rows(HelixStrand.Secondary, "SELECT id FROM t ORDER BY id"), Is.EqualTo(files.Rows(HelixStrand.Primary, "SELECT id FROM t ORDER BY id")));
    }

    [Test]
    public async Task An_application_that_only_enqueues_heals_once_the_worker_process_has_replayed()
    {
        var queueFile = Path.Combine(Path.GetTempPath(), "helix-tests", Guid.NewGuid().ToString("N"), "replay.db");
        using var files = new SqliteStrands("enqueue-only");
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        var appSecondary = new FaultPlan();
        appSecondary.FailExecutions(FaultPlan.Busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        await using var app = new HelixDataSourceBuilder("Helix;Replay Worker=false")
            .UsePrimary(new FaultySqliteDataSource(files.Inner(HelixStrand.Primary), new FaultPlan()))
            .UseSecondary(new FaultySqliteDataSource(files.Inner(HelixStrand.Secondary), appSecondary))
            .UseReplayQueue(new FileReplayQueue(queueFile))
            .ConfigureReplay(o => o.PollInterval = TimeSpan.FromMilliseconds(50))
            .Build();
        await using (var connection = await OpenAsync(app))
        {
            await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES (1)");
            await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES (2)");
        }

        Assert.That(app.GetStatus()[HelixStrand.Secondary].State, Is.Not.EqualTo(HelixStrandState.Healthy));
        Assert.That(files.Rows(HelixStrand.Secondary, "SELECT count(*) FROM t"), Is.EqualTo(new[] { "0" }), "the application does not replay");

        // The replay service: the same queue file, its own data source, its worker.
        await using var service = new HelixDataSourceBuilder($"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{files.Inner(HelixStrand.Primary)}\";Secondary=\"{files.Inner(HelixStrand.Secondary)}\"")
            .UseReplayQueue(new FileReplayQueue(queueFile))
            .ConfigureReplay(o => o.PollInterval = TimeSpan.FromMilliseconds(50))
            .Build();
        await Wait.ForReplayAsync(service);
        await Wait.ForReplayAsync(app);
        Assert.That(files.Rows(HelixStrand.Secondary, "SELECT id FROM t ORDER BY id"), Is.EqualTo(new[] { "1", "2" }));
    }

    [Test]
    public async Task The_queue_deduplicates_keeps_attempts_dead_letters_and_schedules_priorities()
    {
        var queue = new FileReplayQueue(Path.Combine(Path.GetTempPath(), "helix-tests", Guid.NewGuid().ToString("N"), "replay.db"), new FileReplayQueueOptions { PriorityRatio = 2 });
        await using var _ = queue;
        await queue.InitializeAsync(new HelixReplayContext(["primary", "secondary"], [Microsoft.Data.Sqlite.SqliteFactory.Instance, Microsoft.Data.Sqlite.SqliteFactory.Instance], TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance));
        HelixReplayEntry Entry(string text, HelixReplayPriority priority) => new(Guid.CreateVersion7(), HelixStrand.Primary, 1, DateTimeOffset.UnixEpoch, priority, [new HelixReplayStatement(text, System.Data.CommandType.Text, [], null)], false, null);

        var first = Entry("h1", HelixReplayPriority.High);
        queue.Enqueue(first);
        queue.Enqueue(first);
        Assert.That(queue.GetBacklog(HelixStrand.Primary), Is.EqualTo(1), "the same entry id is stored once");
        foreach (var text in new[] { "h2", "h3", "h4" })
        {
            queue.Enqueue(Entry(text, HelixReplayPriority.High));
        }

        queue.Enqueue(Entry("l1", HelixReplayPriority.Low));
        var served = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var batch = await queue.ReadAsync(HelixStrand.Primary, 1);
            served.Add(batch[0].Statements[0].CommandText);
            await queue.CompleteAsync(batch[0]);
        }

        Assert.That(served, Is.EqualTo(new[] { "h1", "h2", "l1", "h3", "h4" }), "after 2 high batches a waiting low one gets its turn");

        var failing = Entry("bad", HelixReplayPriority.High);
        queue.Enqueue(failing);
        var read = (await queue.ReadAsync(HelixStrand.Primary, 1))[0];
        read.Attempts = 3;
        await queue.ReleaseAsync([read]);
        Assert.That((await queue.ReadAsync(HelixStrand.Primary, 1))[0].Attempts, Is.EqualTo(3), "attempts survive a release");
        await queue.DeadLetterAsync(read, "refused 3 times");
        var letters = await queue.ReadDeadLettersAsync();
        Assert.Multiple(() =>
        {
            Assert.That(queue.GetBacklog(HelixStrand.Primary), Is.Zero);
            Assert.That(letters.Single().Reason, Is.EqualTo("refused 3 times"));
            Assert.That(letters.Single().Entry.Id, Is.EqualTo(failing.Id));
        });
    }

    [Test]
    public async Task A_value_the_queue_cannot_store_is_refused_before_anything_is_written()
    {
        await using var strands = Strands(Path.Combine(Path.GetTempPath(), "helix-tests", Guid.NewGuid().ToString("N"), "replay.db"));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v TEXT)");
        await using var connection = await OpenAsync(strands.DataSource);
        var thrown = Assert.ThrowsAsync<NotSupportedException>(() => ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES (@v)", ("v", System.Net.IPAddress.Loopback)));
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.Message, Does.Contain("'v'").And.Contain("System.Net.IPAddress").And.Contain("refused before anything ran"));
            Assert.That(strands.Files.Rows(HelixStrand.Primary, "SELECT * FROM t"), Is.Empty);
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t"), Is.Empty);
        });
    }

    [TestCase("", null)]
    [TestCase(";Replay Capacity=5000", 5000L)]
    public void Replay_file_in_the_connection_string_makes_the_file_queue(string capacity, long? expected)
    {
        var queueFile = Path.Combine(Path.GetTempPath(), "helix-tests", Guid.NewGuid().ToString("N"), "replay.db");
        using var files = new SqliteStrands("file-key");
        using var dataSource = HelixDataSource.Create(files.ConnectionString($"Replay=file:{queueFile};Replay Worker=false{capacity}"));
        Assert.Multiple(() =>
        {
            Assert.That(dataSource.ReplayQueue, Is.InstanceOf<FileReplayQueue>());
            Assert.That(((FileReplayQueue)dataSource.ReplayQueue!).Path, Is.EqualTo(queueFile));
            Assert.That(dataSource.ReplayQueue!.Capacity, Is.EqualTo(expected), "no count limit unless the string sets one: the disk bounds a file queue");
        });
    }
}

/// <summary>Intents: a write a process left in doubt when it died reaches every strand.</summary>
public class ReplayIntentTests
{
    [Test]
    public async Task An_abandoned_intent_is_promoted_and_brings_the_write_to_every_strand()
    {
        var queueFile = Path.Combine(Path.GetTempPath(), "helix-tests", Guid.NewGuid().ToString("N"), "replay.db");
        using var files = new SqliteStrands("intent");
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");

        // What a process leaves behind when it dies after recording the intent and before the write settled.
        var context = new HelixReplayContext(["primary", "secondary"], [Microsoft.Data.Sqlite.SqliteFactory.Instance, Microsoft.Data.Sqlite.SqliteFactory.Instance], TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        await using (var dead = new FileReplayQueue(queueFile))
        {
            await dead.InitializeAsync(context);
            HelixReplayEntry For(HelixStrand strand) => new(Guid.CreateVersion7(), strand, 1, DateTimeOffset.UtcNow, HelixReplayPriority.High, [new HelixReplayStatement("INSERT INTO t VALUES (1, 'in doubt') ON CONFLICT (id) DO NOTHING", System.Data.CommandType.Text, [], null)], false, null);
            await dead.RecordIntentAsync(Guid.CreateVersion7(), [For(HelixStrand.Primary), For(HelixStrand.Secondary)]);
        }

        await using var next = new HelixDataSourceBuilder(files.ConnectionString())
            .UseReplayQueue(new FileReplayQueue(queueFile))
            .ConfigureReplay(o => (o.InDoubtTimeout, o.PollInterval) = (TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(50)))
            .Build();
        await Wait.UntilAsync(() => files.Rows(HelixStrand.Secondary, "SELECT v FROM t").Count == 1 && files.Rows(HelixStrand.Primary, "SELECT v FROM t").Count == 1, "the abandoned write reached both strands");
        await Wait.ForReplayAsync(next);
        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT * FROM t"), Is.EqualTo(new[] { "1|in doubt" }));
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT * FROM t"), Is.EqualTo(new[] { "1|in doubt" }));
        });
    }

    [Test]
    public async Task A_write_while_a_strand_is_behind_leaves_no_intent_once_it_settles()
    {
        var queueFile = Path.Combine(Path.GetTempPath(), "helix-tests", Guid.NewGuid().ToString("N"), "replay.db");
        await using var strands = new FaultyStrands(configure: b => b.UseReplayQueue(new FileReplayQueue(queueFile)));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        strands.DataSource.Drain(HelixStrand.Secondary, "behind");
        await using (var connection = await strands.DataSource.OpenConnectionAsync())
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO t VALUES (1)";
            await command.ExecuteNonQueryAsync();
        }

        using var check = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={queueFile}");
        check.Open();
        using var count = check.CreateCommand();
        count.CommandText = "SELECT (SELECT count(*) FROM intents), (SELECT count(*) FROM entries)";
        using var reader = count.ExecuteReader();
        reader.Read();
        Assert.Multiple(() =>
        {
            Assert.That(reader.GetInt64(0), Is.Zero, "the intent was forgotten once the write settled");
            Assert.That(reader.GetInt64(1), Is.EqualTo(1), "the entry for the drained strand is queued");
        });
    }
}
