using Helix.Data.Replay;
using Helix.Data.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Helix.Data.Tests;

/// <summary>Contract sections 3 and 7: strand states, ordered replay, convergence, dead letters.</summary>
public class ReplayTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Schema = """
        CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL, n INTEGER NOT NULL);
        CREATE TABLE log (seq INTEGER NOT NULL, k TEXT NOT NULL);
        """;

    /// <summary>
    /// A real outage (another connection holds an exclusive lock on the secondary's file) in the middle of 1,000 writes
    /// that update the same ten rows again and again and append to a log. Replay must apply the missed writes in
    /// order: the final values, the counters and the log's rowids only match if it did.
    /// </summary>
    [Test]
    public async Task An_outage_in_the_middle_of_a_write_stream_converges_to_identical_strands_in_order()
    {
        using var files = new SqliteStrands("outage");
        files.ExecuteOnBoth(Schema);
        files.ExecuteOnBoth(string.Join(";", Enumerable.Range(0, 10).Select(k => $"INSERT INTO kv VALUES ('k{k}', 0, 0)")));
        await using var dataSource = new HelixDataSourceBuilder(files.ConnectionString())
            .ConfigureReplay(o => o.BackoffMax = TimeSpan.FromMilliseconds(200))
            .Build();
        await using var connection = await OpenAsync(dataSource);

        HelixStrandStatus? duringOutage = null;
        for (var i = 0; i < 1000; i++)
        {
            if (i == 300)
            {
                files.Lock(HelixStrand.Secondary);
            }

            if (i == 700)
            {
                duringOutage = dataSource.GetStatus()[HelixStrand.Secondary];
                files.Release();
            }

            var key = $"k{i % 10}";
            await ExecuteNonQueryAsync(connection, "UPDATE kv SET v = @v, n = n + 1 WHERE k = @k", ("v", i), ("k", key));
            await ExecuteNonQueryAsync(connection, "INSERT INTO log (seq, k) VALUES (@seq, @k)", ("seq", i), ("k", key));
        }

        await Wait.ForReplayAsync(dataSource, TimeSpan.FromSeconds(60));
        const string Everything = "SELECT 'kv', k, v, n FROM kv UNION ALL SELECT 'log', rowid, seq, k FROM log ORDER BY 1, 2";
        var primary = files.Rows(HelixStrand.Primary, Everything);
        var secondary = files.Rows(HelixStrand.Secondary, Everything);
        var status = dataSource.GetStatus();
        Assert.Multiple(() =>
        {
            Assert.That(duringOutage!.State, Is.Not.EqualTo(HelixStrandState.Healthy), "the secondary was out of service");
            Assert.That(duringOutage.Backlog, Is.GreaterThan(500), "writes were queued for it");
            Assert.That(primary, Has.Count.EqualTo(1010));
            Assert.That(secondary, Is.EqualTo(primary), "every row, value, counter and log rowid is identical");
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT k, v, n FROM kv WHERE k = 'k7'"), Is.EqualTo(new[] { "k7|997|100" }));
            Assert.That(status.ReplayApplied, Is.GreaterThanOrEqualTo(duringOutage.Backlog));
            Assert.That(status.Divergences, Is.Zero);
            Assert.That(status.Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy));
        });
    }

    [Test]
    public async Task Concurrent_writers_through_an_outage_and_recovery_converge()
    {
        using var files = new SqliteStrands("concurrent");
        files.ExecuteOnBoth(Schema);
        await using var dataSource = new HelixDataSourceBuilder(files.ConnectionString("Default Timeout=5"))
            .ConfigureReplay(o => o.BackoffMax = TimeSpan.FromMilliseconds(200))
            .Build();
        using var outageStarted = new SemaphoreSlim(0);
        var written = 0;

        async Task WriterAsync(int writer)
        {
            await using var connection = await OpenAsync(dataSource);
            for (var i = 0; i < 100; i++)
            {
                await ExecuteNonQueryAsync(connection, "INSERT INTO kv (k, v, n) VALUES (@k, @v, 0) ON CONFLICT (k) DO UPDATE SET v = excluded.v, n = n + 1", ("k", $"w{writer}-{i % 5}"), ("v", i));
                if (Interlocked.Increment(ref written) == 100)
                {
                    outageStarted.Release();
                }
            }
        }

        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() => WriterAsync(w))).ToList();
        Assert.That(await outageStarted.WaitAsync(Wait.Default), Is.True, "the writers made progress");
        files.Lock(HelixStrand.Primary);
        await Wait.UntilAsync(() => dataSource.GetStatus()[HelixStrand.Primary].Backlog > 0 || Volatile.Read(ref written) == 400, "writes queue up for the locked primary");
        files.Release();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(90));
        await Wait.ForReplayAsync(dataSource, TimeSpan.FromSeconds(60));
        Assert.That(files.Rows(HelixStrand.Secondary, "SELECT * FROM kv ORDER BY k"), Is.EqualTo(files.Rows(HelixStrand.Primary, "SELECT * FROM kv ORDER BY k")).And.Count.EqualTo(20));
    }

    [Test]
    public async Task An_entry_that_keeps_failing_with_statement_errors_is_dead_lettered_and_the_rest_still_applies()
    {
        await using var strands = new FaultyStrands(configure: b => b.ConfigureReplay(o => o.MaxAttempts = 3));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER)");
        strands.Secondary.FailExecutions(FaultPlan.Busy, text => text.Contains("INSERT", StringComparison.Ordinal));
        await using var connection = await OpenAsync(strands.DataSource);
        await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES ('a', 1)");
        await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES ('b', 2)");

        // The secondary answers again, but refuses the first entry every time (say, a constraint its schema has).
        strands.Secondary.FailExecutions(FaultPlan.Constraint, text => text.Contains("'a'", StringComparison.Ordinal));
        await Wait.ForReplayAsync(strands.DataSource);
        var queue = (HelixMemoryReplayQueue)strands.DataSource.ReplayQueue!;
        var deadLetter = queue.DeadLetters.Single();
        Assert.Multiple(() =>
        {
            Assert.That(deadLetter.Entry.Statements[0].CommandText, Does.Contain("'a'"));
            Assert.That(deadLetter.Entry.Attempts, Is.EqualTo(3));
            Assert.That(deadLetter.Reason, Does.Contain("failed 3 times").And.Contain("UNIQUE"));
            Assert.That(strands.Divergences.Single().Kind, Is.EqualTo(HelixDivergenceKind.ReplayDeadLettered));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT id FROM t"), Is.EqualTo(new[] { "b" }), "the entry behind it was applied");
        });
    }

    [Test]
    public async Task Strand_faults_during_replay_do_not_count_as_attempts()
    {
        await using var strands = new FaultyStrands(configure: b => b.ConfigureReplay(o => o.MaxAttempts = 1));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY)");
        strands.Secondary.FailExecutions(FaultPlan.Busy);
        await using var connection = await OpenAsync(strands.DataSource);
        await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES ('a')");
        await Wait.UntilAsync(() => strands.DataSource.GetStatus()[HelixStrand.Secondary].LastError is not null, "the worker tried the secondary");
        var tries = strands.Secondary.Executions;
        await Wait.UntilAsync(() => strands.Secondary.Executions > tries + 3 || strands.DataSource.GetStatus().ReplayDeadLettered > 0, "the worker retried the fault several times");
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.Multiple(() =>
        {
            Assert.That(strands.DataSource.GetStatus().ReplayDeadLettered, Is.Zero);
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT id FROM t"), Is.EqualTo(new[] { "a" }));
        });
    }

    [Test]
    public async Task A_drained_strand_gets_nothing_until_undrained_then_catches_up_in_order()
    {
        await using var strands = new FaultyStrands();
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)");
        await using var connection = await OpenAsync(strands.DataSource);
        strands.DataSource.Drain(HelixStrand.Secondary, "disk replacement");
        var executionsBefore = strands.Secondary.Executions;
        for (var i = 0; i < 20; i++)
        {
            await ExecuteNonQueryAsync(connection, "INSERT INTO t (id, v) VALUES (@i, @i) ON CONFLICT (id) DO UPDATE SET v = excluded.v", ("i", i % 3));
        }

        var drained = strands.DataSource.GetStatus()[HelixStrand.Secondary];
        Assert.Multiple(() =>
        {
            Assert.That(drained.State, Is.EqualTo(HelixStrandState.Draining));
            Assert.That(drained.DrainReason, Is.EqualTo("disk replacement"));
            Assert.That(drained.Backlog, Is.EqualTo(20));
            Assert.That(strands.Secondary.Executions, Is.EqualTo(executionsBefore), "nothing runs on a drained strand");
        });
        strands.DataSource.Undrain(HelixStrand.Secondary);
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t ORDER BY id"), Is.EqualTo(strands.Files.Rows(HelixStrand.Primary, "SELECT * FROM t ORDER BY id")));
    }

    [Test]
    public async Task A_replay_entry_keeps_the_values_the_caller_bound_even_if_the_caller_reuses_its_buffers()
    {
        await using var strands = new FaultyStrands();
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY, data BLOB)");
        strands.Secondary.FailExecutions(FaultPlan.Busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        await using var connection = await OpenAsync(strands.DataSource);
        var buffer = new byte[] { 1, 2, 3 };
        await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES (@id, @data)", ("id", "a"), ("data", buffer));
        buffer[0] = 99;
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT hex(data) FROM t"), Is.EqualTo(new[] { "010203" }));
    }

    [Test]
    public async Task The_status_snapshot_tells_each_strand_state_backlog_and_last_error()
    {
        await using var strands = new FaultyStrands("Strand Names=east,west");
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY)");
        strands.Secondary.FailExecutions(FaultPlan.Busy);
        await using var connection = await OpenAsync(strands.DataSource);
        await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES ('a')");
        var status = strands.DataSource.GetStatus();
        Assert.Multiple(() =>
        {
            Assert.That(status.Strands.Select(s => s.Name), Is.EqualTo(new[] { "east", "west" }));
            Assert.That(status[HelixStrand.Primary].State, Is.EqualTo(HelixStrandState.Healthy));
            Assert.That(status[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.Failed));
            Assert.That(status[HelixStrand.Secondary].Backlog, Is.EqualTo(1));
            Assert.That(status[HelixStrand.Secondary].LastError, Does.Contain("SqliteException"));
            Assert.That(status[HelixStrand.Secondary].LastErrorAt, Is.Not.Null);
            Assert.That(status.IsConverged, Is.False);
        });
    }

    [Test]
    public async Task Single_strand_mode_passes_everything_through()
    {
        using var files = new SqliteStrands("single");
        files.Execute(HelixStrand.Primary, "CREATE TABLE t (id TEXT PRIMARY KEY)");
        await using var dataSource = HelixDataSource.Create($"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{files.Inner(HelixStrand.Primary)}\"");
        await using var connection = await OpenAsync(dataSource);
        await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES ('a')");
        var thrown = Assert.ThrowsAsync<SqliteException>(() => ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES ('a')"));
        var (values, strand) = await QueryAsync(connection, "SELECT id FROM t");
        Assert.Multiple(() =>
        {
            Assert.That(dataSource.IsSingleStrand, Is.True);
            Assert.That(dataSource.ReplayQueue, Is.Null);
            Assert.That(thrown!.SqliteErrorCode, Is.EqualTo(19));
            Assert.That(values, Is.EqualTo(new[] { "a" }));
            Assert.That(strand, Is.EqualTo(HelixStrand.Primary));
            Assert.That(dataSource.GetStatus().Strands, Has.Count.EqualTo(1));
        });
    }
}
