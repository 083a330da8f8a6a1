using Helix.Data.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Helix.Data.Tests;

/// <summary>
/// Contract amendment 14: a <c>Concurrent</c> write whose strands would not overlap on the caller's thread (a synchronous
/// call, or SQLite, whose asynchronous methods complete before they return) offers the second strand to the thread pool,
/// and the caller runs it itself if no pool thread took it.
/// </summary>
public class ConcurrentWriteTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Insert = "INSERT INTO t (id, v) VALUES (@id, @v)";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>Two strands whose writes are always offered (however short they are on this machine), unless a clock is given.</summary>
    private static FaultyStrands Strands(FakeTimeProvider? clock = null)
    {
        var strands = new FaultyStrands(configure: clock is null ? null : b => b.UseTimeProvider(clock));
        if (clock is null)
        {
            strands.DataSource.OffloadThreshold = TimeSpan.Zero;
        }

        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER)");
        return strands;
    }

    /// <summary>Records, in order, which strand ran each insert and on which thread.</summary>
    private static List<(HelixStrand Strand, int Thread)> RecordInsertThreads(FaultyStrands strands)
    {
        var seen = new List<(HelixStrand Strand, int Thread)>();
        strands.Primary.BeforeExecute(text => Record(HelixStrand.Primary, text));
        strands.Secondary.BeforeExecute(text => Record(HelixStrand.Secondary, text));
        return seen;

        void Record(HelixStrand strand, string text)
        {
            if (text == Insert)
            {
                lock (seen)
                {
                    seen.Add((strand, Environment.CurrentManagedThreadId));
                }
            }
        }
    }

    /// <summary>
    /// At the next insert the primary waits until the secondary has started its own: run in turn, it would wait in vain.
    /// Records which thread ran each strand.
    /// </summary>
    private sealed class Overlap : IDisposable
    {
        private readonly ManualResetEventSlim _secondaryStarted = new();
        private int? _primaryThread;
        private int? _secondaryThread;
        private bool _overlapped;

        public Overlap(FaultyStrands strands)
        {
            strands.Secondary.BeforeExecute(text =>
            {
                if (text == Insert)
                {
                    _secondaryThread = Environment.CurrentManagedThreadId;
                    _secondaryStarted.Set();
                }
            });
            strands.Primary.BeforeExecute(text =>
            {
                if (text == Insert)
                {
                    _primaryThread = Environment.CurrentManagedThreadId;
                    _overlapped = _secondaryStarted.Wait(Patience);
                }
            });
        }

        public void AssertOverlapped()
        {
            Assert.That(_overlapped, Is.True, $"the secondary did not start within {Patience.TotalSeconds} s of the primary: the strands ran in turn");
            Assert.That(_secondaryThread, Is.Not.EqualTo(_primaryThread), "each strand on its own thread");
        }

        public void Dispose() => _secondaryStarted.Dispose();
    }

    [Test]
    public async Task The_strands_of_a_concurrent_write_run_on_two_threads_at_once()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);

        // The first asynchronous write is how Helix learns that this provider completes asynchronous calls inline.
        await ExecuteNonQueryAsync(connection, Insert, ("id", "first"), ("v", 0));

        using var overlap = new Overlap(strands);

        var rows = await ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1));
        Assert.Multiple(() =>
        {
            overlap.AssertOverlapped();
            Assert.That(rows, Is.EqualTo(1));
            Assert.That(strands.Files.Rows(HelixStrand.Primary, "SELECT * FROM t ORDER BY id"), Is.EqualTo(new[] { "a|1", "first|0" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t ORDER BY id"), Is.EqualTo(new[] { "a|1", "first|0" }));
            Assert.That(strands.DataSource.GetStatus().IsConverged, Is.True);
        });
    }

    [Test]
    public async Task A_strand_no_pool_thread_takes_is_run_by_the_caller_after_its_own()
    {
        await using var strands = Strands();
        strands.DataSource.OffersToThreadPool = false; // as a starved thread pool: nothing takes the offer
        var order = RecordInsertThreads(strands);
        await using var connection = await OpenAsync(strands.DataSource);
        var callerThread = Environment.CurrentManagedThreadId;
        for (var i = 0; i < 3; i++)
        {
            Assert.That(await ExecuteNonQueryAsync(connection, Insert, ("id", $"k{i}"), ("v", i)), Is.EqualTo(1));
        }

        Assert.Multiple(() =>
        {
            Assert.That(order.Select(o => o.Strand), Is.EqualTo(new[] { HelixStrand.Primary, HelixStrand.Secondary, HelixStrand.Primary, HelixStrand.Secondary, HelixStrand.Primary, HelixStrand.Secondary }), "in turn, the primary first");
            if (!IsAsync)
            {
                Assert.That(order.Select(o => o.Thread).Distinct(), Is.EqualTo(new[] { callerThread }), "all on the caller's thread");
            }

            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t ORDER BY id"), Is.EqualTo(new[] { "k0|0", "k1|1", "k2|2" }));
            Assert.That(strands.DataSource.GetStatus().IsConverged, Is.True);
        });
    }

    [Test]
    public async Task A_fault_on_the_strand_run_by_a_pool_thread_is_queued_for_it_and_the_write_is_acknowledged()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        await ExecuteNonQueryAsync(connection, Insert, ("id", "first"), ("v", 0));

        using var secondaryStarted = new ManualResetEventSlim();
        var overlapped = false;
        strands.Secondary.FailExecutions(FaultPlan.Busy, text =>
        {
            if (text != Insert)
            {
                return false;
            }

            secondaryStarted.Set();
            return true;
        });
        strands.Primary.BeforeExecute(text => overlapped |= text == Insert && secondaryStarted.Wait(Patience));

        Assert.That(await ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1)), Is.EqualTo(1), "acknowledged by the primary");
        Assert.That(overlapped, Is.True, "the secondary ran beside the primary");
        Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].State, Is.Not.EqualTo(HelixStrandState.Healthy));

        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t ORDER BY id"), Is.EqualTo(new[] { "a|1", "first|0" }));
    }

    [Test]
    public async Task A_strand_that_waits_on_the_pool_thread_it_was_offered_to_completes_the_write()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);

        // The primary completes inline, so asynchronous writes offer the secondary, which returns before it has run. The
        // primary waits for the secondary to start, so that a pool thread, not the caller, takes every offer.
        await ExecuteNonQueryAsync(connection, Insert, ("id", "first"), ("v", 0)); // learns that the primary completes inline
        strands.Secondary.AsyncExecutionsYield = true;
        using var secondaryStarted = new AutoResetEvent(false);
        var overlapped = 0;
        strands.Secondary.BeforeExecute(text =>
        {
            if (text == Insert)
            {
                secondaryStarted.Set();
            }
        });
        strands.Primary.BeforeExecute(text =>
        {
            if (text == Insert && secondaryStarted.WaitOne(Patience))
            {
                Interlocked.Increment(ref overlapped);
            }
        });

        var expected = new List<string> { "first|0" };
        for (var i = 0; i < 20; i++)
        {
            Assert.That(await ExecuteNonQueryAsync(connection, Insert, ("id", $"k{i:D2}"), ("v", i)), Is.EqualTo(1));
            expected.Add($"k{i:D2}|{i}");
        }

        var status = strands.DataSource.GetStatus();
        Assert.Multiple(() =>
        {
            Assert.That(overlapped, Is.EqualTo(20), "the secondary ran beside the primary every time");
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t ORDER BY id"), Is.EqualTo(expected));
            Assert.That(status.IsConverged, Is.True, Wait.Describe(status));
            Assert.That(status.ReplayApplied, Is.Zero, "every write reached the secondary directly, none by replay");
            Assert.That(strands.Divergences, Is.Empty);
        });
    }

    [Test]
    public async Task A_strand_whose_writes_are_shorter_than_a_handoff_runs_in_turn_on_the_callers_thread()
    {
        // The clock stands still: every write takes no time, far less than waking another thread would.
        await using var strands = Strands(Wait.Clock());
        var order = RecordInsertThreads(strands);
        await using var connection = await OpenAsync(strands.DataSource);
        await ExecuteNonQueryAsync(connection, Insert, ("id", "first"), ("v", 0)); // the first write shows how long one takes
        order.Clear();
        var callerThread = Environment.CurrentManagedThreadId;
        for (var i = 0; i < 3; i++)
        {
            Assert.That(await ExecuteNonQueryAsync(connection, Insert, ("id", $"k{i}"), ("v", i)), Is.EqualTo(1));
        }

        Assert.Multiple(() =>
        {
            Assert.That(order.Select(o => o.Strand), Is.EqualTo(new[] { HelixStrand.Primary, HelixStrand.Secondary, HelixStrand.Primary, HelixStrand.Secondary, HelixStrand.Primary, HelixStrand.Secondary }), "in turn, the primary first");
            Assert.That(order.Select(o => o.Thread).Distinct(), Is.EqualTo(new[] { callerThread }), "all on the caller's thread");
            Assert.That(strands.DataSource.GetStatus().IsConverged, Is.True);
        });
    }

    [Test]
    public async Task A_strand_whose_writes_take_longer_than_a_handoff_is_offered_again()
    {
        var clock = Wait.Clock();
        await using var strands = Strands(clock);
        await using var connection = await OpenAsync(strands.DataSource);
        await ExecuteNonQueryAsync(connection, Insert, ("id", "fast"), ("v", 0)); // takes no time: the next write runs in turn

        // The secondary's writes now take a millisecond of the data source's clock, far more than a handoff.
        strands.Secondary.BeforeExecute(text =>
        {
            if (text == Insert)
            {
                clock.Advance(TimeSpan.FromMilliseconds(1));
            }
        });
        await ExecuteNonQueryAsync(connection, Insert, ("id", "slow"), ("v", 1));

        using var overlap = new Overlap(strands);

        Assert.That(await ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 2)), Is.EqualTo(1));
        Assert.Multiple(() =>
        {
            overlap.AssertOverlapped();
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t ORDER BY id"), Is.EqualTo(new[] { "a|2", "fast|0", "slow|1" }));
        });
    }
}
