using Dapper;
using Helix.Data.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Tests;

/// <summary><c>Strand Retry</c>: a strand fault is run again on the same strand before the strand counts as failed.</summary>
[TestFixture(SyncOrAsync.Sync)]
[TestFixture(SyncOrAsync.Async)]
public sealed class StrandRetryTests(SyncOrAsync mode)
{
    private const string ReadsFromPrimary = "Read Strategy=Sticky;Preferred Strand=Primary;Strand Retry Delay=1";
    private CollectingLoggerProvider _logs = null!;
    private ILoggerFactory _loggerFactory = null!;

    [SetUp]
    public void CollectLogs()
    {
        _logs = new CollectingLoggerProvider();
        _loggerFactory = LoggerFactory.Create(b => b.AddProvider(_logs));
    }

    [TearDown]
    public void StopCollecting()
    {
        _loggerFactory.Dispose();
        _logs.Dispose();
    }

    [Test]
    public async Task A_read_fault_is_retried_on_the_same_strand_which_stays_healthy()
    {
        await using var strands = Strands("Strand Retry=1");
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1)");
        var primaryReads = FailTimes(strands.Primary, "SELECT v", 1, () => new IOException("connection reset by peer"));
        var secondaryReads = FailTimes(strands.Secondary, "SELECT v", 0, () => new IOException("never"));

        var values = await QueryAsync(strands.DataSource, "SELECT v FROM t");

        Assert.Multiple(() =>
        {
            Assert.That(values, Is.EqualTo(new[] { 1 }));
            Assert.That(primaryReads(), Is.EqualTo(2), "the fault, then the retry");
            Assert.That(secondaryReads(), Is.Zero, "no failover");
            Assert.That(strands.DataSource.GetStatus()[HelixStrand.Primary].State, Is.EqualTo(HelixStrandState.Healthy));
            Assert.That(Retries(), Has.Count.EqualTo(1).And.All.Contain("retry 1 of 1").And.All.Contain("connection reset by peer"));
        });
    }

    [Test]
    public async Task A_read_whose_retries_are_spent_fails_over_as_before()
    {
        await using var strands = Strands("Strand Retry=2");
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v INTEGER)");
        strands.Files.Execute(HelixStrand.Secondary, "INSERT INTO t VALUES (2)");
        var primaryReads = FailTimes(strands.Primary, "SELECT v", int.MaxValue, () => new IOException("connection reset by peer"));

        var values = await QueryAsync(strands.DataSource, "SELECT v FROM t");

        Assert.Multiple(() =>
        {
            Assert.That(values, Is.EqualTo(new[] { 2 }), "served by the secondary");
            Assert.That(primaryReads(), Is.EqualTo(3), "the fault and two retries");
            Assert.That(Retries(), Has.Count.EqualTo(2));
        });
    }

    [Test]
    public async Task A_write_that_could_not_reach_a_strand_is_retried_and_needs_no_replay()
    {
        await using var strands = Strands("Strand Retry=1");
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v INTEGER)");
        var failed = 0;
        strands.Secondary.FailOpens(() =>
        {
            strands.Secondary.Heal(); // the next open succeeds
            Interlocked.Increment(ref failed);
            return new IOException("connection refused");
        });

        await ExecuteAsync(strands.DataSource, "INSERT INTO t VALUES (1)");

        var status = strands.DataSource.GetStatus()[HelixStrand.Secondary];
        Assert.Multiple(() =>
        {
            Assert.That(failed, Is.EqualTo(1));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT v FROM t"), Is.EqualTo(new[] { "1" }), "applied directly");
            Assert.That(status.State, Is.EqualTo(HelixStrandState.Healthy));
            Assert.That(status.Backlog, Is.Zero, "nothing queued");
            Assert.That(Retries(), Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task A_write_the_server_rolled_back_is_retried()
    {
        await using var strands = Strands("Strand Retry=1");
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v INTEGER)");
        FailTimes(strands.Secondary, "INSERT", 1, FaultPlan.Busy); // SQLITE_BUSY: the statement did not run

        await ExecuteAsync(strands.DataSource, "INSERT INTO t VALUES (1)");

        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT v FROM t"), Is.EqualTo(new[] { "1" }));
            Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.Healthy));
            Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].Backlog, Is.Zero);
            Assert.That(Retries(), Has.Count.EqualTo(1));
        });
    }

    [TestCase("INSERT INTO t VALUES (1)", "connection lost while the statement ran")]
    [TestCase("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)", "busy, but an earlier statement of the text may have committed")]
    public async Task A_write_the_strand_may_have_applied_is_not_retried_but_replayed(string sql, string why)
    {
        await using var strands = Strands("Strand Retry=3");
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v INTEGER)");
        FailTimes(strands.Secondary, "INSERT", 1, sql.Contains(';', StringComparison.Ordinal) ? FaultPlan.Busy : () => new IOException("connection reset by peer"));

        await ExecuteAsync(strands.DataSource, sql);

        Assert.That(Retries(), Is.Empty, why);
        Assert.That(_logs.Entries.Select(e => e.Message), Has.Some.Contain("Strand secondary is now Failed"), "the fault counted: the strand gets the write by replay (it may have healed already)");
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT count(*) FROM t"), Is.EqualTo(strands.Files.Rows(HelixStrand.Primary, "SELECT count(*) FROM t")));
    }

    [Test]
    public async Task A_fault_inside_a_transaction_is_not_retried()
    {
        await using var strands = Strands("Strand Retry=3");
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v INTEGER)");
        FailTimes(strands.Secondary, "INSERT", 1, FaultPlan.Busy);

        await using (var connection = (HelixConnection)await strands.DataSource.OpenConnectionAsync())
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync("INSERT INTO t VALUES (1)", transaction: transaction);
            await transaction.CommitAsync();
        }

        Assert.That(Retries(), Is.Empty, "the fault broke the secondary's part of the transaction");
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT v FROM t"), Is.EqualTo(new[] { "1" }), "replayed");
    }

    [Test]
    public async Task Strand_Retry_0_fails_over_at_the_first_fault()
    {
        await using var strands = Strands("Strand Retry=0");
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v INTEGER)");
        strands.Files.Execute(HelixStrand.Secondary, "INSERT INTO t VALUES (2)");
        FailTimes(strands.Primary, "SELECT", 1, () => new IOException("connection reset by peer"));

        Assert.That(await QueryAsync(strands.DataSource, "SELECT v FROM t"), Is.EqualTo(new[] { 2 }));
        Assert.That(Retries(), Is.Empty);
    }

    [Test]
    public async Task The_wait_before_a_retry_runs_on_the_data_source_s_clock_and_is_20_to_50_ms_by_default()
    {
        var clock = Wait.Clock();
        await using var strands = new FaultyStrands("Read Strategy=Sticky;Preferred Strand=Primary;Strand Retry=1", b => b.UseTimeProvider(clock).UseLoggerFactory(_loggerFactory));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1)");
        FailTimes(strands.Primary, "SELECT", 1, () => new IOException("connection reset by peer"));

        var reading = mode == SyncOrAsync.Async
            ? QueryAsync(strands.DataSource, "SELECT v FROM t")
            : Task.Run(() => QueryAsync(strands.DataSource, "SELECT v FROM t"));
        await Wait.UntilAsync(() => Retries().Count == 1, "the retry is scheduled");
        clock.Advance(TimeSpan.FromMilliseconds(19));
        Assert.That(reading.IsCompleted, Is.False, "no retry before 20 ms of the data source's clock");
        clock.Advance(TimeSpan.FromMilliseconds(31));

        Assert.That(await reading.WaitAsync(Wait.Default), Is.EqualTo(new[] { 1 }));
        Assert.That(strands.DataSource.GetStatus()[HelixStrand.Primary].State, Is.EqualTo(HelixStrandState.Healthy));
    }

    [TestCase("Strand Retry=-1", "Strand Retry")]
    [TestCase("Strand Retry Delay=0", "Strand Retry Delay")]
    [TestCase("Hedge After=soon", "Hedge After")]
    public void Bad_values_are_refused_naming_the_key(string setting, string key)
    {
        var e = Assert.Throws<ArgumentException>(() => new HelixConnectionStringBuilder("Helix;" + setting));
        Assert.That(e!.Message, Does.Contain(key));
    }

    private FaultyStrands Strands(string extra) => new($"{ReadsFromPrimary};{extra}", b => b.UseLoggerFactory(_loggerFactory));

    private List<string> Retries() => [.. _logs.Entries.Where(e => e.Id.Id == 4003).Select(e => e.Message)];

    /// <summary>Fails the first <paramref name="times"/> executions of statements starting with <paramref name="prefix"/>; returns how many of them the strand saw.</summary>
    private static Func<int> FailTimes(FaultPlan plan, string prefix, int times, Func<Exception> error)
    {
        var (left, seen) = (times, 0);
        plan.FailExecutions(error, text =>
        {
            if (!text.StartsWith(prefix, StringComparison.Ordinal))
            {
                return false;
            }

            Interlocked.Increment(ref seen);
            return Interlocked.Decrement(ref left) >= 0;
        });
        return () => Volatile.Read(ref seen);
    }

    private async Task<List<int>> QueryAsync(HelixDataSource dataSource, string sql)
    {
        if (mode == SyncOrAsync.Sync)
        {
            using var connection = dataSource.OpenConnection();
            return [.. connection.Query<int>(sql)];
        }

        await using var open = await dataSource.OpenConnectionAsync();
        return [.. await open.QueryAsync<int>(sql)];
    }

    private async Task ExecuteAsync(HelixDataSource dataSource, string sql)
    {
        if (mode == SyncOrAsync.Sync)
        {
            using var connection = dataSource.OpenConnection();
            connection.Execute(sql);
            return;
        }

        await using var open = await dataSource.OpenConnectionAsync();
        await open.ExecuteAsync(sql);
    }
}
