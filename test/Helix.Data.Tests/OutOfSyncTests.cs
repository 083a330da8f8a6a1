using Helix.Data.Internal;
using Helix.Data.Replay;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>
/// Issue 19, items 1 and 2: a strand whose writes no queue can hold leaves service (OutOfSync) while writes go on, and
/// comes back through a resynchronisation; nothing acknowledged is lost, and a strand missing writes never serves reads.
/// </summary>
public class OutOfSyncTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Insert = "INSERT INTO t (id, v) VALUES (@id, @v)";
    private const string Rows = "SELECT id, v FROM t ORDER BY id";

    private static FaultyStrands Strands(string extra = "", Action<HelixDataSourceBuilder>? configure = null)
    {
        var strands = new FaultyStrands(extra, configure);
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER)");
        return strands;
    }

    // The old default (10,000 entries) refused every write from the 10,001st on while the secondary was down.
    [Test]
    public async Task The_default_configuration_keeps_writing_past_ten_thousand_missed_writes()
    {
        await using var strands = Strands();
        strands.Files.ExecuteOnBoth("PRAGMA journal_mode=WAL"); // a commit appends to the log: 10,500 of them take seconds, not minutes
        strands.Secondary.FailExecutions(FaultPlan.Busy);
        await using var connection = await OpenAsync(strands.DataSource);
        const int Writes = 10_500;

        for (var i = 0; i < Writes; i++)
        {
            await ExecuteNonQueryAsync(connection, Insert, ("id", $"k{i:D5}"), ("v", i));
        }

        var status = strands.DataSource.GetStatus();
        Assert.Multiple(() =>
        {
            Assert.That(status[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.Failed));
            Assert.That(status[HelixStrand.Secondary].Backlog, Is.EqualTo(Writes), "every missed write is queued");
            Assert.That(((HelixMemoryReplayQueue)strands.DataSource.ReplayQueue!).GetMemoryUsage(HelixStrand.Secondary), Is.LessThan(256L << 20));
        });
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource, TimeSpan.FromSeconds(120));
        Assert.That(strands.Files.Scalar(HelixStrand.Secondary, "SELECT count(*) FROM t"), Is.EqualTo((long)Writes));
    }

    [Test]
    public async Task A_full_queue_under_the_default_policy_takes_the_strand_out_of_service_and_a_resynchronisation_brings_it_back()
    {
        await using var strands = Strands("Replay Memory Limit=64KB;Preferred Strand=Secondary");
        strands.Secondary.FailExecutions(FaultPlan.Busy, IsWrite);
        await using var connection = await OpenAsync(strands.DataSource);
        for (var i = 0; i < 200; i++)
        {
            await ExecuteNonQueryAsync(connection, Insert, ("id", $"a{i:D3}"), ("v", i)); // none is refused
        }

        var status = strands.DataSource.GetStatus()[HelixStrand.Secondary];
        Assert.Multiple(() =>
        {
            Assert.That(status.State, Is.EqualTo(HelixStrandState.OutOfSync));
            Assert.That(status.OutOfSyncReason, Does.Contain("replay queue is full (64 KiB of memory)"));
            Assert.That(strands.DataSource.GetStatus().ReplayDropped, Is.Zero, "nothing acknowledged is dropped: the primary has it, and the resync copies it");
        });
        await Wait.UntilAsync(() => strands.Divergences.Any(d => d.Kind == HelixDivergenceKind.StrandOutOfSync), "the strand leaving service is reported");
        await Wait.UntilAsync(() => strands.DataSource.GetStatus()[HelixStrand.Secondary].Backlog == 0, "the memory queue lets the useless backlog go");

        strands.Secondary.Heal(); // reachable again, but it misses writes: it must not serve reads nor heal on its own
        var (_, servedBy) = await QueryAsync(connection, "SELECT count(*) FROM t");
        Assert.Multiple(() =>
        {
            Assert.That(servedBy, Is.EqualTo(HelixStrand.Primary), "reads never go to a strand out of sync, preferred or not");
            Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.OutOfSync));
        });

        await strands.DataSource.BeginResyncAsync(HelixStrand.Secondary);
        var snapshot = strands.Files.Rows(HelixStrand.Primary, Rows); // the copy starts after BeginResyncAsync returned
        await ExecuteNonQueryAsync(connection, Insert, ("id", "b000"), ("v", 1)); // during the copy: queued for the secondary
        await ExecuteNonQueryAsync(connection, "UPDATE t SET v = -1 WHERE id = 'a000'");
        strands.Files.Execute(HelixStrand.Secondary, "DELETE FROM t");
        strands.Files.Execute(HelixStrand.Secondary, string.Join(";", snapshot.Select(r => r.Split('|')).Select(p => $"INSERT INTO t VALUES ('{p[0]}', {p[1]})")));
        Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.Draining));
        strands.DataSource.CompleteResync(HelixStrand.Secondary);
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(strands.Files.Rows(HelixStrand.Primary, Rows)));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Has.Count.EqualTo(201));
            Assert.That(strands.DataSource.GetStatus().IsConverged, Is.True);
        });
    }

    [Test]
    public async Task A_resynchronisation_waits_for_writes_in_flight_that_went_past_the_strand()
    {
        await using var strands = Strands("Replay Memory Limit=4KB");
        strands.Secondary.FailExecutions(FaultPlan.Busy, IsWrite);
        await using var connection = await OpenAsync(strands.DataSource);
        for (var i = 0; strands.DataSource.GetStatus()[HelixStrand.Secondary].State != HelixStrandState.OutOfSync; i++)
        {
            Assert.That(i, Is.LessThan(100), "the 4 KB queue fills within a few writes");
            await ExecuteNonQueryAsync(connection, Insert, ("id", $"a{i:D3}"), ("v", i));
        }

        using var entered = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        strands.Primary.BeforeExecute(text =>
        {
            if (text.Contains("'held'", StringComparison.Ordinal))
            {
                entered.Release();
                Assert.That(release.Wait(Wait.Default), Is.True, "the test releases the held write");
            }
        });
        var held = Task.Run(() => ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES ('held', 1)"));
        Assert.That(await entered.WaitAsync(Wait.Default), Is.True, "the held write reached the primary");
        var resync = strands.DataSource.BeginResyncAsync(HelixStrand.Secondary);
        await Wait.UntilAsync(() => strands.DataSource.GetStatus()[HelixStrand.Secondary].State == HelixStrandState.Draining, "the resynchronisation begins");
        Assert.That(resync.IsCompleted, Is.False, "a copy taken now could miss the write the primary is applying");
        release.Release();
        await held;
        await resync.WaitAsync(Wait.Default);
        Assert.That(strands.Files.Rows(HelixStrand.Primary, "SELECT id FROM t WHERE id = 'held'"), Has.Count.EqualTo(1));
    }

    // Issue 19, item 2: the entry of a write the primary applied could not be stored, and the caller was told it succeeded
    // while the secondary would never get it.
    [Test]
    public async Task An_entry_the_queue_cannot_store_takes_the_strand_out_of_service_instead_of_losing_the_write()
    {
        var queue = new UnreachableQueue();
        await using var strands = Strands("Preferred Strand=Secondary", b => b.UseReplayQueue(queue));
        await using var connection = await OpenAsync(strands.DataSource);
        await ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1));
        queue.Reachable = false;
        strands.Secondary.FailExecutions(FaultPlan.Busy, IsWrite);
        var rows = await ExecuteNonQueryAsync(connection, Insert, ("id", "b"), ("v", 2));
        var status = strands.DataSource.GetStatus();
        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.EqualTo(1), "applied by the primary");
            Assert.That(status[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.OutOfSync));
            Assert.That(status[HelixStrand.Secondary].OutOfSyncReason, Does.Contain("could not store").And.Contain("queue unreachable"));
            Assert.That(status.ReplayDropped, Is.Zero);
        });

        strands.Secondary.Heal();
        var later = await ExecuteNonQueryAsync(connection, Insert, ("id", "c"), ("v", 3));
        var (values, servedBy) = await QueryAsync(connection, "SELECT id FROM t ORDER BY id");
        Assert.Multiple(() =>
        {
            Assert.That(later, Is.EqualTo(1), "later writes go on without the queue and without the strand");
            Assert.That(servedBy, Is.EqualTo(HelixStrand.Primary));
            Assert.That(values, Is.EqualTo(new object[] { "a", "b", "c" }), "read-your-writes: never the strand that misses b");
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "a|1" }));
        });
    }

    private static bool IsWrite(string text) => !text.StartsWith("SELECT", StringComparison.OrdinalIgnoreCase);

    /// <summary>A replay queue whose store can be made unreachable, as a durable queue's server can be.</summary>
    private sealed class UnreachableQueue : HelixReplayQueue
    {
        private readonly HelixMemoryReplayQueue _inner = new();

        public bool Reachable { get; set; } = true;

        public override long GetBacklog(HelixStrand strand) => _inner.GetBacklog(strand);

        public override void Enqueue(HelixReplayEntry entry)
        {
            if (!Reachable)
            {
                throw new TimeoutException("queue unreachable");
            }

            _inner.Enqueue(entry);
        }

        public override ValueTask EnqueueAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default)
        {
            Enqueue(entry);
            return default;
        }

        public override ValueTask<IReadOnlyList<HelixReplayEntry>> ReadAsync(HelixStrand strand, int maxCount, CancellationToken cancellationToken = default) => _inner.ReadAsync(strand, maxCount, cancellationToken);

        public override ValueTask CompleteAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default) => _inner.CompleteAsync(entry, cancellationToken);

        public override ValueTask DeadLetterAsync(HelixReplayEntry entry, string reason, CancellationToken cancellationToken = default) => _inner.DeadLetterAsync(entry, reason, cancellationToken);
    }
}
