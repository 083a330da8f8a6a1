using System.Collections.Concurrent;
using Dapper;
using Helix.Data.Internal;
using Helix.Data.Replay;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>Per-command replay priority: <c>HelixCommand.ReplayPriority</c> and the <c>/* helix:priority=low */</c> hint.</summary>
public class ReplayPriorityTests
{
    [Test]
    public async Task Low_priority_writes_reach_a_returning_strand_after_the_high_priority_ones()
    {
        await using var strands = new FaultyStrands();
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v TEXT)");
        var applied = RecordInserts(strands.Secondary);
        strands.Secondary.FailOpens(() => new IOException("connection refused"));

        await using (var connection = (HelixConnection)await strands.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("INSERT INTO t VALUES ('a') /* helix:priority=low */");
            await connection.ExecuteAsync("INSERT INTO t VALUES ('b')");
            await using (var command = new HelixCommand("INSERT INTO t VALUES ('c')", connection) { ReplayPriority = HelixReplayPriority.Low })
            {
                await command.ExecuteNonQueryAsync();
            }

            await connection.ExecuteAsync("INSERT INTO t VALUES ('d')");
        }

        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(applied, Is.EqualTo(new[] { "b", "d", "a", "c" }), "the high-priority entries first, each priority in order");
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT v FROM t ORDER BY v"), Is.EqualTo(new[] { "a", "b", "c", "d" }));
    }

    [Test]
    public async Task A_transaction_is_low_priority_only_when_every_statement_in_it_is()
    {
        await using var strands = new FaultyStrands();
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v TEXT)");
        var applied = RecordInserts(strands.Secondary);
        strands.Secondary.FailOpens(() => new IOException("connection refused"));

        await using (var connection = (HelixConnection)await strands.DataSource.OpenConnectionAsync())
        {
            await using (var allLow = await connection.BeginTransactionAsync())
            {
                await connection.ExecuteAsync("INSERT INTO t VALUES ('low1') /* helix:priority=low */", transaction: allLow);
                await connection.ExecuteAsync("INSERT INTO t VALUES ('low2') /* helix:priority=low */", transaction: allLow);
                await allLow.CommitAsync();
            }

            await using (var mixed = await connection.BeginTransactionAsync())
            {
                await connection.ExecuteAsync("INSERT INTO t VALUES ('mixed-low') /* helix:priority=low */", transaction: mixed);
                await connection.ExecuteAsync("INSERT INTO t VALUES ('mixed-high')", transaction: mixed);
                await mixed.CommitAsync();
            }
        }

        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(applied, Is.EqualTo(new[] { "mixed-low", "mixed-high", "low1", "low2" }), "the mixed transaction kept high priority");
    }

    [Test]
    public async Task The_memory_queue_gives_low_priority_a_batch_after_Replay_Priority_Ratio_high_ones_or_waits_in_strict_mode()
    {
        Assert.That(await ReadOrder(new HelixMemoryReplayQueueOptions { PriorityRatio = 2 }), Is.EqualTo(new[] { "h1", "h2", "l1", "h3", "l2" }));
        Assert.That(await ReadOrder(new HelixMemoryReplayQueueOptions { StrictPriority = true }), Is.EqualTo(new[] { "h1", "h2", "h3", "l1", "l2" }));

        static async Task<List<string>> ReadOrder(HelixMemoryReplayQueueOptions options)
        {
            var queue = new HelixMemoryReplayQueue(options);
            foreach (var (text, priority) in new[] { ("l1", HelixReplayPriority.Low), ("h1", HelixReplayPriority.High), ("h2", HelixReplayPriority.High), ("l2", HelixReplayPriority.Low), ("h3", HelixReplayPriority.High) })
            {
                queue.Enqueue(new HelixReplayEntry(Guid.NewGuid(), HelixStrand.Secondary, 0, DateTimeOffset.UnixEpoch, priority, [new HelixReplayStatement(text, System.Data.CommandType.Text, [], null)], false, null));
            }

            var order = new List<string>();
            while (queue.GetBacklog(HelixStrand.Secondary) > 0)
            {
                var entry = (await queue.ReadAsync(HelixStrand.Secondary, 1)).Single();
                order.Add(entry.Statements[0].CommandText);
                await queue.CompleteAsync(entry);
            }

            Assert.That(queue.GetMemoryUsage(HelixStrand.Secondary), Is.Zero, "every byte given back");
            return order;
        }
    }

    [TestCase("INSERT INTO t VALUES (1) /* helix:priority=low */", HelixReplayPriority.Low)]
    [TestCase("/*helix:PRIORITY = Low*/ INSERT INTO t VALUES (1)", HelixReplayPriority.Low)]
    [TestCase("INSERT INTO t VALUES (1) /* helix:priority=high */", HelixReplayPriority.High)]
    [TestCase("INSERT INTO t VALUES ('helix:priority=low')", HelixReplayPriority.High)]
    [TestCase("INSERT INTO t VALUES (1)", HelixReplayPriority.High)]
    public void The_hint_is_a_comment_of_its_own(string text, HelixReplayPriority expected) =>
        Assert.That(ReplayHint.PriorityOf(text), Is.EqualTo(expected));

    /// <summary>The values the strand's INSERTs carry, in the order it ran them.</summary>
    private static ConcurrentQueue<string> RecordInserts(FaultPlan plan)
    {
        var applied = new ConcurrentQueue<string>();
        plan.BeforeExecute(text =>
        {
            if (text.StartsWith("INSERT", StringComparison.Ordinal))
            {
                var start = text.IndexOf('\'', StringComparison.Ordinal) + 1;
                applied.Enqueue(text[start..text.IndexOf('\'', start)]);
            }
        });
        return applied;
    }
}
