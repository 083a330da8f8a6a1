using Helix.Data.Internal;
using Helix.Data.Replay;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>The strand state machine of contract section 3, transition by transition, with a fake clock.</summary>
public class StrandControllerTests
{
    private static StrandController Controller(HelixMemoryReplayQueue queue, Microsoft.Extensions.Time.Testing.FakeTimeProvider clock) =>
        new(HelixStrand.Secondary, queue, clock, (_, _, _, _) => { });

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
