using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary><c>HelixDataSource.Defer</c>/<c>Undefer</c>: an operator takes a strand out of the write path without stopping replication to it.</summary>
public class OperatorDeferralTests
{
    [Test]
    public async Task A_deferred_strand_gets_its_writes_by_replay_and_stays_out_of_reads_until_undeferred()
    {
        await using var strands = new FaultyStrands();
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY)");
        var executed = new List<string>();
        strands.Secondary.BeforeExecute(text => { if (text.StartsWith("INSERT", StringComparison.Ordinal)) { lock (executed) { executed.Add(text); } } });
        strands.DataSource.Defer(HelixStrand.Secondary, "slow disk");
        await using (var connection = await strands.DataSource.OpenConnectionAsync())
        {
            await using var command = new HelixCommand("INSERT INTO t VALUES ('a')", connection);
            await command.ExecuteNonQueryAsync();
        }

        await Wait.UntilAsync(() => strands.Files.Rows(HelixStrand.Secondary, "SELECT id FROM t").Count == 1, "the worker applied the write to the deferred strand");
        var status = strands.DataSource.GetStatus()[HelixStrand.Secondary];
        Assert.Multiple(() =>
        {
            Assert.That(status.IsDeferred, Is.True);
            Assert.That(status.State, Is.EqualTo(HelixStrandState.CatchingUp), "reads avoid it");
            Assert.That(status.DeferReason, Is.EqualTo("by an operator: slow disk"));
            Assert.That(status.Backlog, Is.Zero, "applied as it came");
            Assert.That(strands.Files.Rows(HelixStrand.Primary, "SELECT id FROM t"), Is.EqualTo(new[] { "a" }));
        });

        strands.DataSource.Undefer(HelixStrand.Secondary);
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.Healthy));
    }

    [Test]
    public async Task The_write_strategy_cannot_end_an_operator_s_deferral_but_the_other_strand_failing_does()
    {
        await using var strands = new FaultyStrands();
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY)");
        strands.DataSource.Defer(HelixStrand.Secondary, "maintenance");
        ((Helix.Data.Strategies.IHelixWriteControl)strands.DataSource.StrandView!).Undefer(HelixStrand.Secondary); // what Adaptive calls when the strand is fast again
        Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].IsDeferred, Is.True, "still deferred: only the operator ends it");

        strands.Primary.FailExecutions(FaultPlan.IoError, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        await using (var connection = await strands.DataSource.OpenConnectionAsync())
        {
            await using var command = new HelixCommand("INSERT INTO t VALUES ('a')", connection);
            Assert.CatchAsync(() => command.ExecuteNonQueryAsync()); // the primary faults: it leaves Healthy
        }

        await Wait.UntilAsync(() => !strands.DataSource.GetStatus()[HelixStrand.Secondary].IsDeferred, "the deferral ends: one strand must take writes directly");
    }

    [Test]
    public async Task A_strand_that_cannot_be_deferred_is_refused_with_the_reason()
    {
        await using var strands = new FaultyStrands();
        strands.DataSource.Defer(HelixStrand.Secondary, "first");
        var e = Assert.Throws<InvalidOperationException>(() => strands.DataSource.Defer(HelixStrand.Primary, "second"));
        Assert.That(e!.Message, Does.Contain("cannot be deferred").And.Contain("secondary is CatchingUp and deferred"));

        using var files = new SqliteStrands("defer-single");
        await using var single = HelixDataSource.Create($"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{files.Inner(HelixStrand.Primary)}\"");
        Assert.That(() => single.Defer(HelixStrand.Primary, "alone"), Throws.InvalidOperationException.With.Message.Contain("no other strand"));
    }
}
