using Dapper;
using Helix.Data.Tests.Support;
using Microsoft.Data.Sqlite;
using Polly;
using Polly.Retry;
using Polly.Simmy;

namespace Helix.Data.Tests;

/// <summary><c>UseStrandPipeline</c>: the application's own Polly pipeline around every statement a strand runs.</summary>
public class StrandPipelineTests
{
    private const string Reads = "Read Strategy=Sticky;Preferred Strand=Primary";

    [Test]
    public async Task A_timeout_of_the_pipeline_cancels_a_slow_read_which_fails_over()
    {
        var clock = Wait.Clock();
        var timeout = new ResiliencePipelineBuilder { TimeProvider = clock }.AddTimeout(TimeSpan.FromMilliseconds(100)).Build();
        await using var strands = Strands(b => b.UseTimeProvider(clock).UseStrandPipeline(HelixStrand.Primary, timeout));
        strands.Primary.Hold(text => text.StartsWith("SELECT v", StringComparison.Ordinal));
        await using var connection = await strands.DataSource.OpenConnectionAsync();

        var reading = connection.QueryAsync<int>("SELECT v FROM t");
        await Wait.UntilAsync(() => strands.Primary.HeldNow == 1, "the primary holds the read");
        clock.Advance(TimeSpan.FromMilliseconds(100));

        Assert.That(await reading.WaitAsync(Wait.Default), Is.EqualTo(new[] { 2 }), "failed over to the secondary");
        Assert.That(strands.Primary.HeldCancelled, Is.EqualTo(1), "the timeout cancelled the primary's command");
    }

    [Test]
    public async Task A_fault_the_pipeline_injects_is_a_strand_fault_and_the_write_reaches_the_strand_by_replay()
    {
        var chaos = new ResiliencePipelineBuilder().AddChaosFault(1.0, () => new TimeoutException("injected")).Build();
        await using var strands = Strands(b => b.UseStrandPipeline(HelixStrand.Secondary, chaos));
        await using (var connection = await strands.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("INSERT INTO t VALUES (3)");
        }

        Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].State, Is.Not.EqualTo(HelixStrandState.Healthy));
        await Wait.ForReplayAsync(strands.DataSource); // the replay worker's statements do not go through the pipeline
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT v FROM t ORDER BY v"), Is.EqualTo(new[] { "2", "3" }));
    }

    [TestCase(SyncOrAsync.Sync)]
    [TestCase(SyncOrAsync.Async)]
    public async Task A_retry_in_the_pipeline_sees_the_provider_s_exception_and_runs_the_read_again(SyncOrAsync mode)
    {
        var retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions { ShouldHandle = new PredicateBuilder().Handle<IOException>(), MaxRetryAttempts = 1, Delay = TimeSpan.Zero })
            .Build();
        await using var strands = Strands(b => b.UseStrandPipeline(HelixStrand.Primary, retry));
        var left = 1;
        strands.Primary.FailExecutions(() => new IOException("connection reset by peer"), text => text.StartsWith("SELECT v", StringComparison.Ordinal) && Interlocked.Decrement(ref left) >= 0);

        List<int> values;
        if (mode == SyncOrAsync.Sync)
        {
            using var connection = strands.DataSource.OpenConnection();
            values = [.. connection.Query<int>("SELECT v FROM t")];
        }
        else
        {
            await using var connection = await strands.DataSource.OpenConnectionAsync();
            values = [.. await connection.QueryAsync<int>("SELECT v FROM t")];
        }

        Assert.That(values, Is.EqualTo(new[] { 1 }), "the primary answered the retry");
        Assert.That(strands.DataSource.GetStatus()[HelixStrand.Primary].State, Is.EqualTo(HelixStrandState.Healthy));
    }

    [Test]
    public async Task A_statement_error_reaches_the_caller_as_the_provider_s_own_exception()
    {
        var nothing = new ResiliencePipelineBuilder().AddTimeout(TimeSpan.FromSeconds(30)).Build();
        await using var strands = Strands(b => b.UseStrandPipeline(HelixStrand.Primary, nothing).UseStrandPipeline(HelixStrand.Secondary, nothing));
        await using var connection = await strands.DataSource.OpenConnectionAsync();

        var e = Assert.ThrowsAsync<SqliteException>(() => connection.ExecuteAsync("INSERT INTO missing VALUES (1)"));
        Assert.That(e!.Message, Does.Contain("no such table"));
        Assert.That(strands.DataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy));
    }

    [Test]
    public void A_pipeline_for_a_secondary_strand_that_does_not_exist_is_refused()
    {
        using var files = new SqliteStrands("pipeline-single");
        var builder = new HelixDataSourceBuilder($"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{files.Inner(HelixStrand.Primary)}\"")
            .UseStrandPipeline(HelixStrand.Secondary, ResiliencePipeline.Empty);
        Assert.That(() => builder.Build(), Throws.InvalidOperationException.With.Message.Contain("no secondary strand"));
    }

    /// <summary>Two strands with different rows (1 on the primary, 2 on the secondary), reads on the primary.</summary>
    private static FaultyStrands Strands(Action<HelixDataSourceBuilder> configure)
    {
        var strands = new FaultyStrands(Reads, configure);
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v INTEGER)");
        strands.Files.Execute(HelixStrand.Primary, "INSERT INTO t VALUES (1)");
        strands.Files.Execute(HelixStrand.Secondary, "INSERT INTO t VALUES (2)");
        return strands;
    }
}
