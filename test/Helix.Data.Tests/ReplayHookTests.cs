using System.Collections.Concurrent;
using Helix.Data.Replay;
using Helix.Data.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Tests;

/// <summary>The replay worker's hooks: <c>OnReplayed</c>, <c>OnReplayFailed</c>, <c>OnDeadLettered</c>.</summary>
public class ReplayHookTests
{
    [Test]
    public async Task Applied_and_faulted_attempts_reach_their_hooks()
    {
        var replayed = new ConcurrentQueue<HelixReplayEvent>();
        var failed = new ConcurrentQueue<HelixReplayEvent>();
        await using var strands = new FaultyStrands(configure: b => b.OnReplayed(replayed.Enqueue).OnReplayFailed(failed.Enqueue));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY)");
        strands.Secondary.FailExecutions(FaultPlan.Busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        await using (var connection = await strands.DataSource.OpenConnectionAsync())
        {
            await using var command = new HelixCommand("INSERT INTO t VALUES ('a')", connection);
            await command.ExecuteNonQueryAsync(); // the secondary faults: the write is queued for it
        }

        await Wait.UntilAsync(() => !failed.IsEmpty, "the worker's first attempt on the failing secondary");
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        var fault = failed.First();
        var applied = replayed.Single();
        Assert.Multiple(() =>
        {
            Assert.That(fault.Strand, Is.EqualTo(HelixStrand.Secondary));
            Assert.That(fault.IsStrandFault, Is.True);
            Assert.That(fault.Error!.Message, Does.Contain("database is locked"));
            Assert.That(fault.Entries.Single().Statements[0].CommandText, Is.EqualTo("INSERT INTO t VALUES ('a')"));
            Assert.That(applied.Strand, Is.EqualTo(HelixStrand.Secondary));
            Assert.That(applied.StrandName, Is.EqualTo("secondary"));
            Assert.That(applied.Error, Is.Null);
            Assert.That(applied.Entries.Single().Id, Is.EqualTo(fault.Entries.Single().Id));
        });
    }

    [Test]
    public async Task An_entry_that_keeps_failing_with_a_statement_error_reaches_OnReplayFailed_then_OnDeadLettered()
    {
        var failed = new ConcurrentQueue<HelixReplayEvent>();
        var deadLettered = new ConcurrentQueue<HelixReplayEvent>();
        await using var strands = new FaultyStrands("Replay Max Attempts=2", b => b.OnReplayFailed(failed.Enqueue).OnDeadLettered(deadLettered.Enqueue));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY)");
        strands.DataSource.Drain(HelixStrand.Secondary, "maintenance");
        await using (var connection = await strands.DataSource.OpenConnectionAsync())
        {
            await using var command = new HelixCommand("INSERT INTO t VALUES ('a')", connection);
            await command.ExecuteNonQueryAsync();
        }

        strands.Files.Execute(HelixStrand.Secondary, "DROP TABLE t"); // the entry can never be applied there
        strands.DataSource.Undrain(HelixStrand.Secondary);
        await Wait.UntilAsync(() => !deadLettered.IsEmpty, "the entry is dead-lettered");
        var dead = deadLettered.Single();
        Assert.Multiple(() =>
        {
            Assert.That(failed.Select(f => f.IsStrandFault), Is.EqualTo(new[] { false, false }), "two attempts, each a statement error");
            Assert.That(failed.Select(f => f.Entries.Single().Attempts), Is.All.GreaterThan(0));
            Assert.That(dead.Strand, Is.EqualTo(HelixStrand.Secondary));
            Assert.That(dead.Reason, Does.Contain("failed 2 times").And.Contain("no such table"));
            Assert.That(dead.Error!.Message, Does.Contain("no such table"));
            Assert.That(strands.DataSource.GetStatus().ReplayDeadLettered, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_hook_that_throws_is_logged_and_the_replay_goes_on()
    {
        using var logs = new CollectingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var strands = new FaultyStrands(configure: b => b.UseLoggerFactory(loggerFactory).OnReplayed(_ => throw new InvalidOperationException("the dashboard is down")));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY)");
        strands.DataSource.Drain(HelixStrand.Secondary, "maintenance");
        await using (var connection = await strands.DataSource.OpenConnectionAsync())
        {
            await using var command = new HelixCommand("INSERT INTO t VALUES ('a')", connection);
            await command.ExecuteNonQueryAsync();
        }

        strands.DataSource.Undrain(HelixStrand.Secondary);
        await Wait.ForReplayAsync(strands.DataSource);
        var logged = logs.Entries.Where(e => e.Id.Id == 5007).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT id FROM t"), Is.EqualTo(new[] { "a" }), "applied and completed despite the hook");
            Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].Backlog, Is.Zero, "not applied twice: the entry was completed");
            Assert.That(logged, Has.Count.EqualTo(1));
            Assert.That(logged[0].Exception!.Message, Is.EqualTo("the dashboard is down"));
            Assert.That(logged[0].Message, Does.Contain("OnReplayed").And.Contain("secondary"));
        });
    }
}
