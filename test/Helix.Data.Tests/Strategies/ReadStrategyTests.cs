using Helix.Data.Strategies;
using Microsoft.Extensions.Time.Testing;

namespace Helix.Data.Tests.Strategies;

/// <summary>Every state transition of the built-in read strategies, on strands set by hand and a fake clock.</summary>
public class ReadStrategyTests
{
    private const HelixStrand P = HelixStrand.Primary;
    private const HelixStrand S = HelixStrand.Secondary;

    [Test]
    public void Sticky_stays_moves_once_and_then_waits_out_the_cooldown()
    {
        var clock = new FakeTimeProvider();
        var strands = new FakeStrands(clock);
        var sticky = new StickyReadStrategy(P, TimeSpan.FromMinutes(5));
        Assert.That(Enumerable.Range(0, 5).Select(_ => sticky.Choose(strands)), Is.All.EqualTo(P), "sticks to the preferred strand");

        strands.Set(P, HelixStrandState.Failed);
        Assert.Multiple(() =>
        {
            Assert.That(sticky.Preview(strands), Is.EqualTo(S), "a preview does not move the choice");
            Assert.That(sticky.Current, Is.EqualTo(P));
            Assert.That(sticky.Choose(strands), Is.EqualTo(S), "the first move is free");
            Assert.That(sticky.Current, Is.EqualTo(S));
        });

        strands.Set(P, HelixStrandState.Healthy);
        Assert.That(sticky.Choose(strands), Is.EqualTo(S), "a healthy primary does not pull the choice back");

        clock.Advance(TimeSpan.FromMinutes(4));
        strands.Set(S, HelixStrandState.Failed);
        Assert.Multiple(() =>
        {
            Assert.That(sticky.Choose(strands), Is.EqualTo(P), "within the cooldown the reads move");
            Assert.That(sticky.Current, Is.EqualTo(S), "but the choice stays");
        });

        strands.Set(S, HelixStrandState.Healthy);
        Assert.That(sticky.Choose(strands), Is.EqualTo(S), "and the reads come back with its health");

        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Multiple(() =>
        {
            Assert.That(sticky.OnFailure(S, strands), Is.EqualTo(P), "a fault after the cooldown");
            Assert.That(sticky.Current, Is.EqualTo(P), "moves the choice");
        });
    }

    [Test]
    public void Sticky_without_a_readable_strand_returns_none_and_a_closed_circuit_counts()
    {
        var strands = new FakeStrands();
        var sticky = new StickyReadStrategy(S);
        strands.SetCircuit(S, closed: false);
        Assert.That(sticky.Choose(strands), Is.EqualTo(P), "an open circuit keeps reads away like a failed strand");
        strands.Set(P, HelixStrandState.CatchingUp);
        Assert.That(sticky.Choose(strands), Is.Null);
    }

    [Test]
    public void PrimaryOnly_with_automatic_failback_returns_as_soon_as_the_primary_can_serve()
    {
        var strands = new FakeStrands();
        var strategy = new PrimaryOnlyReadStrategy();
        Assert.That(strategy.Choose(strands), Is.EqualTo(P));
        Assert.That(strategy.OnFailure(P, strands), Is.EqualTo(S));
        strands.Set(P, HelixStrandState.Failed);
        Assert.That(strategy.Choose(strands), Is.EqualTo(S));
        strands.Set(P, HelixStrandState.Healthy);
        Assert.Multiple(() =>
        {
            Assert.That(strategy.Choose(strands), Is.EqualTo(P));
            Assert.That(strategy.IsFailedOver, Is.False);
        });
    }

    [Test]
    public void PrimaryOnly_with_manual_failback_stays_on_the_secondary_until_reset()
    {
        var strands = new FakeStrands();
        var strategy = new PrimaryOnlyReadStrategy(automaticFailback: false);
        Assert.That(strategy.OnFailure(P, strands), Is.EqualTo(S));
        Assert.Multiple(() =>
        {
            Assert.That(strategy.IsFailedOver, Is.True);
            Assert.That(strategy.Choose(strands), Is.EqualTo(S), "the primary is healthy, but failback is manual");
            Assert.That(strategy.Preview(strands), Is.EqualTo(S));
        });

        strategy.Reset();
        Assert.That(strategy.Choose(strands), Is.EqualTo(P));

        strands.Set(P, HelixStrandState.Failed);
        Assert.That(strategy.Choose(strands), Is.EqualTo(S), "a primary that cannot serve fails reads over too");
        strands.Set(P, HelixStrandState.Healthy);
        Assert.That(strategy.Choose(strands), Is.EqualTo(S), "and they stay until reset");
    }

    [Test]
    public void RoundRobin_alternates_skips_a_strand_that_cannot_serve_and_previews_the_same_strand_whatever_the_turn()
    {
        var strands = new FakeStrands();
        var strategy = new RoundRobinReadStrategy();
        var first = strategy.Choose(strands);
        Assert.Multiple(() =>
        {
            Assert.That(strategy.Choose(strands), Is.Not.EqualTo(first));
            Assert.That(strategy.Choose(strands), Is.EqualTo(first));
        });

        // Every connection opens the previewed strand first: one strand for all, so that none waits for the primary's
        // pool while holding the secondary's as others do the reverse (amendment 41).
        var previews = Enumerable.Range(0, 4).Select(_ => (strategy.Preview(strands), strategy.Choose(strands)).Item1).ToList();
        Assert.That(previews, Is.All.EqualTo(P));
        strands.Set(P, HelixStrandState.Failed);
        Assert.That(strategy.Preview(strands), Is.EqualTo(S), "the secondary while the primary cannot serve");
        strands.Set(P, HelixStrandState.Healthy);

        strands.Set(S, HelixStrandState.Draining);
        Assert.That(Enumerable.Range(0, 4).Select(_ => strategy.Choose(strands)), Is.All.EqualTo(P));
        Assert.That(strategy.OnFailure(P, strands), Is.EqualTo(S));
    }
}
