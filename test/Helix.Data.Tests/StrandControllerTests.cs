using Helix.Data.Internal;
using Helix.Data.Replay;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>The strand state machine of contract section 3, transition by transition, with a fake clock.</summary>
public class StrandControllerTests
{
    private static StrandController Controller(HelixMemoryReplayQueue queue, Microsoft.Extensions.Time.Testing.FakeTimeProvider clock, HelixReplayFullPolicy full = HelixReplayFullPolicy.Reject) =>
        new(HelixStrand.Secondary, queue, clock, (_, _, _, _) => { }, full);

    private static HelixReplayEntry Entry() => new(
        Guid.CreateVersion7(), HelixStrand.Secondary, 1, DateTimeOffset.UnixEpoch, HelixReplayPriority.High,
        [new HelixReplayStatement("UPDATE t SET v = 1", System.Data.CommandType.Text, [], null)], false, null);

    [Test]
    public void A_healthy_strand_takes_writes_directly()
    {
        var controller = Controller(new HelixMemoryReplayQueue(), Wait.Clock());
        Assert.That(controller.BeginWrite(out _, out var delay), Is.EqualTo(WriteRoute.Direct));
        Assert.That(delay, Is.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public void A_fault_fails_the_strand_and_its_writes_are_queued_with_a_reservation()
    {
        var queue = new HelixMemoryReplayQueue();
        var controller = Controller(queue, Wait.Clock());
        Assert.That(controller.MissedWrite(new TimeoutException(), isFault: true), Is.EqualTo(WriteRoute.Queue));
        Assert.Multiple(() =>
        {
            Assert.That(controller.State, Is.EqualTo(HelixStrandState.Failed));
            Assert.That(controller.BeginWrite(out _, out _), Is.EqualTo(WriteRoute.Queue));
            Assert.That(controller.Snapshot("s").LastError, Does.Contain("TimeoutException"));
        });
    }

    [Test]
    public void The_strand_heals_only_with_an_empty_backlog_and_no_reservation()
    {
        var queue = new HelixMemoryReplayQueue();
        var controller = Controller(queue, Wait.Clock());
        controller.MissedWrite(new TimeoutException(), isFault: true); // reservation 1
        var entry = Entry();
        queue.Enqueue(entry);
        controller.ReportReachable();
        Assert.That(controller.State, Is.EqualTo(HelixStrandState.CatchingUp));
        Assert.That(controller.TryHeal(), Is.False, "the backlog is not empty");

        queue.CompleteAsync(entry).AsTask().Wait();
        Assert.That(controller.TryHeal(), Is.False, "a write still holds its reservation");
        Assert.That(controller.BeginWrite(out var changed, out _), Is.EqualTo(WriteRoute.Wait), "new writes wait instead of queueing");

        controller.EndReservation();
        Assert.Multiple(() =>
        {
            Assert.That(controller.TryHeal(), Is.True);
            Assert.That(controller.State, Is.EqualTo(HelixStrandState.Healthy));
            Assert.That(changed.IsCompleted, Is.True, "waiting writes are released");
        });
    }

    [Test]
    public void A_write_that_waited_too_long_for_healing_may_queue_anyway()
    {
        var queue = new HelixMemoryReplayQueue();
        var controller = Controller(queue, Wait.Clock());
        controller.MissedWrite(new TimeoutException(), isFault: true);
        controller.ReportReachable();
        controller.BeginHealing();
        Assert.Multiple(() =>
        {
            Assert.That(controller.BeginWrite(out _, out _), Is.EqualTo(WriteRoute.Wait));
            Assert.That(controller.BeginWrite(out _, out _, bypassHealing: true), Is.EqualTo(WriteRoute.Queue));
        });
    }

    [Test]
    public void A_fault_while_healing_releases_the_waiting_writes_to_the_queue()
    {
        var queue = new HelixMemoryReplayQueue();
        var controller = Controller(queue, Wait.Clock());
        controller.MissedWrite(new TimeoutException(), isFault: true);
        controller.ReportReachable();
        controller.BeginHealing();
        controller.BeginWrite(out var changed, out _);
        controller.ReportFault(new TimeoutException());
        Assert.Multiple(() =>
        {
            Assert.That(changed.IsCompleted, Is.True);
            Assert.That(controller.State, Is.EqualTo(HelixStrandState.Failed));
            Assert.That(controller.BeginWrite(out _, out _), Is.EqualTo(WriteRoute.Queue));
        });
    }

    [Test]
    public void While_catching_up_writes_join_the_backlog_at_half_the_apply_rate()
    {
        var clock = Wait.Clock();
        var queue = new HelixMemoryReplayQueue();
        var controller = Controller(queue, clock);
        controller.MissedWrite(new TimeoutException(), isFault: true);
        Assert.That(controller.BeginWrite(out _, out var whileFailed), Is.EqualTo(WriteRoute.Queue));
        Assert.That(whileFailed, Is.EqualTo(TimeSpan.Zero), "no flow control while the strand is down: nothing is applied anyway");

        controller.ReportReachable();
        controller.ReportApplied(100, TimeSpan.FromSeconds(1)); // 100 entries/s: admit one write per 20 ms
        var delays = Enumerable.Range(0, 4).Select(attempt =>
        {
            controller.BeginWrite(out _, out var delay);
            return delay;
        }).ToList();
        Assert.That(delays, Is.EqualTo(new[] { 0, 20, 40, 60 }.Select(ms => TimeSpan.FromMilliseconds(ms))));
        clock.Advance(TimeSpan.FromSeconds(1));
        controller.BeginWrite(out _, out var later);
        Assert.That(later, Is.EqualTo(TimeSpan.Zero), "the slots were used up long ago");
    }

    [Test]
    public void A_full_queue_is_reported_as_such()
    {
        var queue = new HelixMemoryReplayQueue(capacity: 1);
        var controller = Controller(queue, Wait.Clock());
        Assert.That(controller.MissedWrite(new TimeoutException(), isFault: true), Is.EqualTo(WriteRoute.Queue));
        Assert.That(controller.BeginWrite(out _, out _), Is.EqualTo(WriteRoute.Full), "the reservation counts against the capacity");
    }

    [Test]
    public void Under_Reject_a_write_that_already_ran_is_stored_beyond_the_limit_and_a_new_one_is_refused()
    {
        var queue = new HelixMemoryReplayQueue(capacity: 1);
        var controller = Controller(queue, Wait.Clock(), HelixReplayFullPolicy.Reject);
        Assert.Multiple(() =>
        {
            Assert.That(controller.MissedWrite(new TimeoutException(), isFault: true), Is.EqualTo(WriteRoute.Queue));
            Assert.That(controller.MissedWrite(new TimeoutException(), isFault: true), Is.EqualTo(WriteRoute.Queue), "acknowledged elsewhere: never lost");
            Assert.That(controller.BeginWrite(out _, out _), Is.EqualTo(WriteRoute.Full), "not run yet: refused");
        });
    }

    [Test]
    public async Task Under_Resync_a_full_queue_takes_the_strand_out_of_service_until_a_resynchronisation()
    {
        var queue = new HelixMemoryReplayQueue(capacity: 1);
        var changes = new List<(HelixStrandState From, HelixStrandState To)>();
        var controller = new StrandController(HelixStrand.Secondary, queue, Wait.Clock(), (_, from, to, _) => changes.Add((from, to)), HelixReplayFullPolicy.Resync);
        Assert.That(controller.MissedWrite(new TimeoutException(), isFault: true), Is.EqualTo(WriteRoute.Queue));
        queue.Enqueue(Entry());
        controller.EndReservation();
        Assert.Multiple(() =>
        {
            Assert.That(controller.BeginWrite(out _, out _), Is.EqualTo(WriteRoute.Skip));
            Assert.That(controller.State, Is.EqualTo(HelixStrandState.OutOfSync));
            Assert.That(controller.Snapshot("s").OutOfSyncReason, Does.Contain("replay queue is full (1 entries or 256 MiB of memory)"));
            Assert.That(controller.MissedWrite(new TimeoutException(), isFault: true), Is.EqualTo(WriteRoute.Skip), "a strand out of sync takes nothing");
            Assert.That(controller.Drain("maintenance"), Is.False, "an operator's drain does not bring it back");
            Assert.That(controller.TryHeal(), Is.False);
        });
        controller.ReportReachable();
        controller.ReportFault(new TimeoutException());
        Assert.That(controller.State, Is.EqualTo(HelixStrandState.OutOfSync), "neither a probe nor a fault moves it");

        await queue.DiscardBacklogAsync(HelixStrand.Secondary); // as the data source does before it begins
        var begun = controller.BeginResync("test");
        Assert.Multiple(() =>
        {
            Assert.That(begun.IsCompleted, Is.False, "two writes that skipped the strand have not settled");
            Assert.That(controller.State, Is.EqualTo(HelixStrandState.Draining));
            Assert.That(controller.BeginWrite(out _, out _), Is.EqualTo(WriteRoute.Queue), "writes are queued again");
        });
        controller.EndReservation();
        controller.EndSkip();
        Assert.That(begun.IsCompleted, Is.False);
        controller.EndSkip();
        Assert.That(begun.IsCompleted, Is.True, "the copy may start once every write that skipped the strand has settled");
        controller.Undrain();
        Assert.That(controller.State, Is.EqualTo(HelixStrandState.Draining), "an undrain does not end a resynchronisation");
        controller.CompleteResync();
        Assert.That(controller.State, Is.EqualTo(HelixStrandState.CatchingUp));
        Assert.That(changes, Does.Contain((HelixStrandState.Failed, HelixStrandState.OutOfSync)));
    }

    [Test]
    public void A_resynchronisation_is_refused_for_a_strand_that_is_not_out_of_sync()
    {
        var controller = Controller(new HelixMemoryReplayQueue(), Wait.Clock());
        Assert.Multiple(() =>
        {
            Assert.That(() => controller.BeginResync("test"), Throws.InvalidOperationException.With.Message.Contains("only a strand out of sync"));
            Assert.That(() => controller.CompleteResync(), Throws.InvalidOperationException);
        });
    }

    [Test]
    public void Drain_and_undrain()
    {
        var controller = Controller(new HelixMemoryReplayQueue(), Wait.Clock());
        controller.Drain("maintenance");
        Assert.Multiple(() =>
        {
            Assert.That(controller.State, Is.EqualTo(HelixStrandState.Draining));
            Assert.That(controller.BeginWrite(out _, out _), Is.EqualTo(WriteRoute.Queue));
            Assert.That(controller.Snapshot("s").DrainReason, Is.EqualTo("maintenance"));
        });
        controller.EndReservation();
        controller.Undrain();
        Assert.That(controller.State, Is.EqualTo(HelixStrandState.CatchingUp));
        Assert.That(controller.TryHeal(), Is.True);
    }
}
