using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>Issue 20: hazards the core hid, each shown here to be gone.</summary>
public class HazardTests
{
    [Test]
    public void A_reader_kept_after_it_was_disposed_never_shows_another_connection_s_rows()
    {
        using var files = new SqliteStrands("reader-reuse");
        using var dataSource = HelixDataSource.Create(files.ConnectionString());
        using var mine = dataSource.OpenConnection();
        using var theirs = dataSource.OpenConnection();

        HelixDataReader kept;
        using (var command = new HelixCommand("SELECT 'mine'", mine))
        {
            kept = command.ExecuteReader();
            kept.Read();
            kept.Dispose(); // and kept by mistake
        }

        using var other = new HelixCommand("SELECT 'theirs'", theirs);
        using var theirsReader = other.ExecuteReader();
        Assert.Multiple(() =>
        {
            Assert.That(theirsReader, Is.Not.SameAs(kept), "another connection never gets this connection's reader");
            Assert.That(kept.IsClosed, Is.True);
            Assert.That(() => kept.Read(), Throws.Exception, "the disposed reader fails as the provider's does; it never reads 'theirs'");
        });

        using var again = new HelixCommand("SELECT 'mine again'", mine);
        using var reused = again.ExecuteReader();
        Assert.That(reused, Is.SameAs(kept), "within one connection a disposed reader is reused, as Npgsql reuses its own");
    }

    [Test]
    public void Racing_first_uses_of_a_connection_string_build_one_data_source()
    {
        using var files = new SqliteStrands("shared-race");
        var factory = new CountingFactory();
        var name = "Helix.Tests.Counting." + Guid.NewGuid().ToString("N");
        System.Data.Common.DbProviderFactories.RegisterFactory(name, factory);
        var connectionString = $"Helix;Provider={name};Primary=\"{files.Inner(HelixStrand.Primary)}\";Secondary=\"{files.Inner(HelixStrand.Secondary)}\"";
        const int Racers = 8;
        using var start = new Barrier(Racers);
        var seen = new HelixDataSource?[Racers];
        var threads = Enumerable.Range(0, Racers).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            seen[i] = new HelixConnection(connectionString).HelixDataSource;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.That(t.Join(Wait.Default), Is.True, "every racer finished"));

        Assert.Multiple(() =>
        {
            Assert.That(seen.Distinct().Count(), Is.EqualTo(1), "every racer got the same data source");
            Assert.That(factory.DataSourcesMade, Is.EqualTo(2), "one data source was built: one inner data source per strand, not one per racer");
        });
        seen[0]!.Dispose();
    }

    /// <summary>SQLite, counting the inner data sources Helix makes with it.</summary>
    private sealed class CountingFactory : System.Data.Common.DbProviderFactory
    {
        private int _made;

        public int DataSourcesMade => Volatile.Read(ref _made);

        public override System.Data.Common.DbConnection CreateConnection() => new Microsoft.Data.Sqlite.SqliteConnection();

        public override System.Data.Common.DbCommand CreateCommand() => new Microsoft.Data.Sqlite.SqliteCommand();

        public override System.Data.Common.DbParameter CreateParameter() => new Microsoft.Data.Sqlite.SqliteParameter();

        public override System.Data.Common.DbConnectionStringBuilder CreateConnectionStringBuilder() => new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder();

        public override System.Data.Common.DbDataSource CreateDataSource(string connectionString)
        {
            Interlocked.Increment(ref _made);
            return base.CreateDataSource(connectionString);
        }
    }

    [Test]
    public async Task A_throwing_OnDivergence_callback_is_logged_and_the_write_stands()
    {
        using var logs = new CollectingLoggerProvider();
        using var loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => Microsoft.Extensions.Logging.LoggingBuilderExtensions.AddProvider(b, logs));
        await using var strands = new FaultyStrands(configure: b => b.UseLoggerFactory(loggerFactory).OnDivergence(_ => throw new InvalidOperationException("the alerting service is down")));
        strands.Files.Execute(HelixStrand.Primary, "CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2)");
        strands.Files.Execute(HelixStrand.Secondary, "CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1)");
        await using var connection = await strands.DataSource.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE t SET v = v + 10";
        var rows = await command.ExecuteNonQueryAsync(); // the strands report 2 and 1 rows: a divergence
        var logged = logs.Entries.Where(e => e.Id.Id == 3004).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.EqualTo(2), "the write stands");
            Assert.That(logged, Has.Count.EqualTo(1));
            Assert.That(logged[0].Exception!.Message, Is.EqualTo("the alerting service is down"));
            Assert.That(logged[0].Message, Does.Contain("RowsAffectedDiffer").And.Contain("secondary"));
        });
    }

    [Test]
    public async Task A_cancellation_a_provider_raises_for_a_token_of_its_own_is_a_strand_fault_not_the_caller_s_cancellation()
    {
        await using var strands = new FaultyStrands("Preferred Strand=Primary");
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v TEXT)");
        using var caller = new CancellationTokenSource();
        using var providersOwn = new CancellationTokenSource();
        providersOwn.Cancel();
        strands.Primary.FailExecutions(() =>
        {
            caller.Cancel(); // the caller gives up at the moment the provider's own timeout fires
            return new OperationCanceledException("the provider's command timeout", providersOwn.Token);
        }, text => text.StartsWith("SELECT", StringComparison.Ordinal));
        await using var connection = await strands.DataSource.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM t";
        Assert.CatchAsync<OperationCanceledException>(() => command.ExecuteScalarAsync(caller.Token), "the caller cancelled: the read ends there");
        var primary = strands.DataSource.GetStatus()[HelixStrand.Primary];
        Assert.Multiple(() =>
        {
            Assert.That(primary.State, Is.EqualTo(HelixStrandState.Failed), "the provider's own cancellation is the strand's fault");
            Assert.That(primary.LastError, Does.Contain("the provider's command timeout"));
        });
    }

    [Test]
    public void A_synchronous_write_uses_the_queue_s_synchronous_methods_and_blocks_on_no_asynchronous_work()
    {
        var queue = new SynchronousOnlyQueue();
        var fallbacks = Helix.Data.Internal.SynchronousResult.BlockingFallbacks;
        var strands = new FaultyStrands(configure: b => b.UseReplayQueue(queue));
        try
        {
            strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY)");
            strands.Secondary.FailExecutions(FaultPlan.Busy, text => text.Contains("'a'", StringComparison.Ordinal));
            using var connection = strands.DataSource.OpenConnection();
            using (var command = new HelixCommand("INSERT INTO t VALUES ('a')", connection))
            {
                command.ExecuteNonQuery(); // the secondary faults: its entry is enqueued, and it is behind
            }

            using (var command = new HelixCommand("INSERT INTO t VALUES ('b')", connection))
            {
                command.ExecuteNonQuery(); // while it is behind, the write is first recorded as an intent, then forgotten
            }

            Assert.Multiple(() =>
            {
                Assert.That(queue.Calls, Does.Contain("Enqueue").And.Contain("RecordIntent").And.Contain("ForgetIntent"));
                Assert.That(queue.Calls, Has.None.EndsWith("Async"), "no asynchronous queue method behind a synchronous write");
                Assert.That(Helix.Data.Internal.SynchronousResult.BlockingFallbacks, Is.EqualTo(fallbacks));
            });
        }
        finally
        {
            strands.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Synchronous disposal waits for the data source's background loops (replay worker, prober) to end; on a thread whose
    /// synchronization context runs only what that thread pumps (a UI thread, classic ASP.NET), nothing it waits for may
    /// need that context, or it would wait forever.
    /// </summary>
    [Test]
    public void Disposing_synchronously_on_a_single_threaded_synchronization_context_completes_with_the_worker_busy()
    {
        var strands = new FaultyStrands();
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY)");
        strands.Secondary.FailExecutions(FaultPlan.Busy); // probes fail too: the worker keeps probing and backing off
        using (var connection = strands.DataSource.OpenConnection())
        using (var command = new HelixCommand("INSERT INTO t VALUES ('a')", connection))
        {
            command.ExecuteNonQuery();
        }

        Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].Backlog, Is.EqualTo(1), "the worker has work");
        var (returned, failure, posted) = Helix.Data.Testing.NeverPumpedContext.Run(() => strands.DataSource.Dispose(), Wait.Default);
        Assert.Multiple(() =>
        {
            Assert.That(returned, Is.True, $"Dispose did not return within {Wait.Default.TotalSeconds} s: it waits for something that needs the blocked thread's context");
            Assert.That(failure, Is.Null);
            Assert.That(posted, Is.Zero, "nothing was posted back to the disposing thread's context");
        });
        strands.Files.Dispose();
    }

    /// <summary>A durable-looking queue with intents that records which of its methods Helix calls.</summary>
    private sealed class SynchronousOnlyQueue : Helix.Data.Replay.HelixReplayQueue
    {
        private readonly Helix.Data.Replay.HelixMemoryReplayQueue _inner = new();

        public System.Collections.Concurrent.ConcurrentQueue<string> Calls { get; } = new();

        public override bool IsDurable => true;

        public override bool SupportsIntents => true;

        public override long GetBacklog(HelixStrand strand) => _inner.GetBacklog(strand);

        public override void Enqueue(Helix.Data.Replay.HelixReplayEntry entry)
        {
            Calls.Enqueue(nameof(Enqueue));
            _inner.Enqueue(entry);
        }

        public override ValueTask EnqueueAsync(Helix.Data.Replay.HelixReplayEntry entry, CancellationToken cancellationToken = default) => Async(nameof(EnqueueAsync));

        public override void RecordIntent(Guid intentId, IReadOnlyList<Helix.Data.Replay.HelixReplayEntry> entries) => Calls.Enqueue(nameof(RecordIntent));

        public override ValueTask RecordIntentAsync(Guid intentId, IReadOnlyList<Helix.Data.Replay.HelixReplayEntry> entries, CancellationToken cancellationToken = default) => Async(nameof(RecordIntentAsync));

        public override void ForgetIntent(Guid intentId) => Calls.Enqueue(nameof(ForgetIntent));

        public override ValueTask ForgetIntentAsync(Guid intentId, CancellationToken cancellationToken = default) => Async(nameof(ForgetIntentAsync));

        public override ValueTask<IReadOnlyList<Helix.Data.Replay.HelixReplayEntry>> ReadAsync(HelixStrand strand, int maxCount, CancellationToken cancellationToken = default) => _inner.ReadAsync(strand, maxCount, cancellationToken);

        public override ValueTask CompleteAsync(Helix.Data.Replay.HelixReplayEntry entry, CancellationToken cancellationToken = default) => _inner.CompleteAsync(entry, cancellationToken);

        public override ValueTask DeadLetterAsync(Helix.Data.Replay.HelixReplayEntry entry, string reason, CancellationToken cancellationToken = default) => Async(nameof(DeadLetterAsync));

        private ValueTask Async(string name)
        {
            Calls.Enqueue(name);
            return default;
        }
    }

    [Test]
    public void A_policy_derived_from_a_built_in_one_is_treated_as_the_one_it_extends()
    {
        using var files = new SqliteStrands("derived-policy");
        using var plain = new HelixDataSourceBuilder(files.ConnectionString()).UseFailoverPolicy(new Helix.Data.Strategies.CircuitBreakerFailover()).Build();
        using var derived = new HelixDataSourceBuilder(files.ConnectionString()).UseFailoverPolicy(new QuietBreaker()).Build();
        using var latency = new HelixDataSourceBuilder(files.ConnectionString()).UseFailoverPolicy(new Helix.Data.Strategies.LatencyCircuitBreakerFailover()).Build();
        Assert.Multiple(() =>
        {
            Assert.That(derived.Reads!.UsesElapsed, Is.EqualTo(plain.Reads!.UsesElapsed).And.False, "no latency cap, no timing: as the base class");
            Assert.That(latency.Reads!.UsesElapsed, Is.True, "a latency cap needs every read timed");
        });
    }

    /// <summary>A user's circuit breaker that changes nothing of what it inherits.</summary>
    private sealed class QuietBreaker : Helix.Data.Strategies.CircuitBreakerFailover
    {
    }
}
