using Helix.Data.Strategies;

namespace Helix.Data.Tests.Strategies;

/// <summary>The adaptive write strategy's degrade and recover rules, fed with latencies by hand.</summary>
public class WriteStrategyTests
{
    private const HelixStrand P = HelixStrand.Primary;
    private const HelixStrand S = HelixStrand.Secondary;

    private static TimeSpan Ms(double value) => TimeSpan.FromMilliseconds(value);

    [Test]
    public void Three_writes_in_a_row_slower_by_more_than_the_delta_defer_the_strand()
    {
        var strands = new FakeStrands();
        var adaptive = new AdaptiveWriteStrategy();
        adaptive.OnWriteCompleted(Ms(20), Ms(400), strands);
        adaptive.OnWriteCompleted(Ms(20), Ms(400), strands);
        Assert.That(adaptive.GetStrikes(S), Is.EqualTo(2));
        adaptive.OnWriteCompleted(Ms(20), Ms(300), strands);
        Assert.That(adaptive.GetStrikes(S), Is.Zero, "a write within the delta breaks the run");

        for (var i = 0; i < 3; i++)
        {
            Assert.That(strands.Deferrals, Is.Empty);
            adaptive.OnWriteCompleted(Ms(20), Ms(400), strands);
        }

        Assert.Multiple(() =>
        {
            Assert.That(strands.Deferrals.Select(d => d.Strand), Is.EqualTo(new[] { S }));
            Assert.That(strands.Deferrals[0].Reason, Does.Contain("slower than primary by more than 300 ms for 3 writes in a row"));
            Assert.That(adaptive.GetStrikes(S), Is.Zero);
            Assert.That(adaptive.GetStrikes(P), Is.Zero, "the fast strand earns no strikes");
        });
    }

    [Test]
    public void One_write_above_the_cap_defers_at_once_but_never_both_strands()
    {
        var strands = new FakeStrands();
        var adaptive = new AdaptiveWriteStrategy();
        adaptive.OnWriteCompleted(Ms(2500), Ms(30), strands);
        Assert.That(strands.Deferrals.Single().Reason, Does.Contain("above the adaptive cap of 2000 ms"));
        Assert.That(strands.Deferrals.Single().Strand, Is.EqualTo(P));

        // The primary is deferred: the secondary keeps taking writes synchronously whatever it does.
        adaptive.OnWriteCompleted(null, Ms(3000), strands);
        Assert.That(strands.Deferrals, Has.Count.EqualTo(1));
    }

    [Test]
    public void Both_above_the_cap_defers_the_slower_one()
    {
        var strands = new FakeStrands();
        var adaptive = new AdaptiveWriteStrategy();
        adaptive.OnWriteCompleted(Ms(2100), Ms(2600), strands);
        Assert.That(strands.Deferrals.Single().Strand, Is.EqualTo(S));
    }

    [Test]
    public void Differences_under_the_floor_do_not_count()
    {
        var strands = new FakeStrands();
        var adaptive = new AdaptiveWriteStrategy(new HelixAdaptiveOptions { Delta = Ms(10), Floor = Ms(100) });
        for (var i = 0; i < 10; i++)
        {
            adaptive.OnWriteCompleted(Ms(1), Ms(90), strands);
        }

        Assert.Multiple(() =>
        {
            Assert.That(strands.Deferrals, Is.Empty);
            Assert.That(adaptive.GetStrikes(S), Is.Zero);
        });

        for (var i = 0; i < 3; i++)
        {
            adaptive.OnWriteCompleted(Ms(1), Ms(120), strands);
        }

        Assert.That(strands.Deferrals.Single().Strand, Is.EqualTo(S), "once over the floor the delta counts");
    }

    [Test]
    public void A_deferred_strand_resumes_after_enough_fast_applies_in_a_row()
    {
        var strands = new FakeStrands();
        var adaptive = new AdaptiveWriteStrategy(new HelixAdaptiveOptions { Recovery = 5 });
        adaptive.OnWriteCompleted(Ms(20), Ms(2500), strands);
        Assert.That(strands.IsDeferred(S), Is.True);

        for (var i = 0; i < 4; i++)
        {
            adaptive.OnReplayApplied(S, 10, Ms(40), strands);
        }

        adaptive.OnReplayApplied(S, 10, Ms(900), strands);
        Assert.Multiple(() =>
        {
            Assert.That(adaptive.GetFastApplies(S), Is.Zero, "a slow apply breaks the run");
            Assert.That(strands.Undeferrals, Is.Empty);
        });

        for (var i = 0; i < 4; i++)
        {
            adaptive.OnReplayApplied(S, 0, Ms(2), strands); // idle probes count as applies
        }

        Assert.That(strands.Undeferrals, Is.Empty);
        adaptive.OnReplayApplied(S, 1, Ms(250), strands); // within the delta of the primary's 20 ms
        Assert.That(strands.Undeferrals, Is.EqualTo(new[] { S }));
    }

    [Test]
    public void Applies_to_a_strand_that_is_not_deferred_are_ignored()
    {
        var strands = new FakeStrands();
        var adaptive = new AdaptiveWriteStrategy();
        for (var i = 0; i < 10; i++)
        {
            adaptive.OnReplayApplied(S, 1, Ms(1), strands);
        }

        Assert.Multiple(() =>
        {
            Assert.That(strands.Undeferrals, Is.Empty);
            Assert.That(adaptive.GetFastApplies(S), Is.Zero);
        });
    }

    [Test]
    public void The_order_of_each_strategy()
    {
        var strands = new FakeStrands();
        Assert.Multiple(() =>
        {
            Assert.That(ConcurrentWriteStrategy.Instance.GetOrder(strands), Is.EqualTo(HelixWriteOrder.Concurrent));
            Assert.That(new SequentialWriteStrategy().GetOrder(strands), Is.EqualTo(HelixWriteOrder.PrimaryFirst));
            Assert.That(new SequentialWriteStrategy(S).GetOrder(strands), Is.EqualTo(HelixWriteOrder.SecondaryFirst));
            Assert.That(new AdaptiveWriteStrategy().GetOrder(strands), Is.EqualTo(HelixWriteOrder.Concurrent));
        });
    }

    [Test]
    public void Bad_adaptive_settings_are_refused_with_their_name()
    {
        Assert.That(() => new AdaptiveWriteStrategy(new HelixAdaptiveOptions { Strikes = 0 }), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("Strikes"));
        Assert.That(() => new AdaptiveWriteStrategy(new HelixAdaptiveOptions { Cap = TimeSpan.Zero }), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("Cap"));
    }
}
