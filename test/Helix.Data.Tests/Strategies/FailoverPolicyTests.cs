using Helix.Data.Strategies;
using Microsoft.Extensions.Time.Testing;

namespace Helix.Data.Tests.Strategies;

/// <summary>Every state transition of the built-in failover policies, on a fake clock.</summary>
public class FailoverPolicyTests
{
    private const HelixStrand P = HelixStrand.Primary;
    private const HelixStrand S = HelixStrand.Secondary;
    private static readonly Exception Fault = new TimeoutException("no answer");

    [Test]
    public void Active_always_fails_over_and_None_never_does()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ActiveFailover.Instance.ShouldFailover(P, Fault), Is.True);
            Assert.That(ActiveFailover.Instance.FailsStrandOnReadFault, Is.True);
            Assert.That(NoFailover.Instance.ShouldFailover(P, Fault), Is.False);
            Assert.That(NoFailover.Instance.FailsStrandOnReadFault, Is.True);
            Assert.That(ActiveFailover.Instance.GetProbeDelay(P), Is.Null);
        });
    }

    [Test]
    public void The_circuit_opens_at_the_threshold_and_a_success_in_between_starts_the_count_again()
    {
        var clock = new FakeTimeProvider();
        var breaker = new CircuitBreakerFailover(threshold: 3, resetTimeout: TimeSpan.FromSeconds(30), timeProvider: clock);
        Assert.That(breaker.FailsStrandOnReadFault, Is.False);
        breaker.RecordFailure(P, Fault);
        breaker.RecordFailure(P, Fault);
        Assert.Multiple(() =>
        {
            Assert.That(breaker.ShouldFailover(P, Fault), Is.False, "below the threshold the caller gets the error");
            Assert.That(breaker.GetCircuitState(P), Is.EqualTo(HelixCircuitState.Closed));
            Assert.That(breaker.AllowsReads(P), Is.True);
        });

        breaker.RecordSuccess(P, TimeSpan.FromMilliseconds(5));
        breaker.RecordFailure(P, Fault);
        breaker.RecordFailure(P, Fault);
        Assert.That(breaker.GetConsecutiveFailures(P), Is.EqualTo(2), "the success reset the count");

        breaker.RecordFailure(P, Fault);
        Assert.Multiple(() =>
        {
            Assert.That(breaker.GetCircuitState(P), Is.EqualTo(HelixCircuitState.Open));
            Assert.That(breaker.ShouldFailover(P, Fault), Is.True, "the third fault fails over");
            Assert.That(breaker.AllowsReads(P), Is.False);
            Assert.That(breaker.GetProbeDelay(P), Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(breaker.GetCircuitState(S), Is.EqualTo(HelixCircuitState.Closed), "circuits are per strand");
            Assert.That(breaker.GetProbeDelay(S), Is.Null);
        });
    }

    [Test]
    public void After_the_reset_timeout_the_circuit_is_half_open_and_the_probe_decides()
    {
        var clock = new FakeTimeProvider();
        var breaker = new CircuitBreakerFailover(threshold: 1, resetTimeout: TimeSpan.FromSeconds(30), timeProvider: clock);
        breaker.RecordFailure(P, Fault);
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Multiple(() =>
        {
            Assert.That(breaker.GetCircuitState(P), Is.EqualTo(HelixCircuitState.Open));
            Assert.That(breaker.GetProbeDelay(P), Is.EqualTo(TimeSpan.FromSeconds(1)));
        });

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Multiple(() =>
        {
            Assert.That(breaker.GetCircuitState(P), Is.EqualTo(HelixCircuitState.HalfOpen));
            Assert.That(breaker.AllowsReads(P), Is.False, "reads wait for the probe");
            Assert.That(breaker.GetProbeDelay(P), Is.EqualTo(TimeSpan.Zero));
        });

        breaker.RecordFailure(P, Fault); // the probe failed
        Assert.Multiple(() =>
        {
            Assert.That(breaker.GetCircuitState(P), Is.EqualTo(HelixCircuitState.Open), "a failed probe reopens");
            Assert.That(breaker.GetProbeDelay(P), Is.EqualTo(TimeSpan.FromSeconds(30)), "for another reset timeout");
        });

        clock.Advance(TimeSpan.FromSeconds(30));
        breaker.RecordSuccess(P, TimeSpan.FromMilliseconds(3)); // the probe answered
        Assert.Multiple(() =>
        {
            Assert.That(breaker.GetCircuitState(P), Is.EqualTo(HelixCircuitState.Closed));
            Assert.That(breaker.GetConsecutiveFailures(P), Is.Zero);
            Assert.That(breaker.AllowsReads(P), Is.True);
        });
    }

    [Test]
    public void A_fault_while_open_does_not_extend_the_break()
    {
        var clock = new FakeTimeProvider();
        var breaker = new CircuitBreakerFailover(threshold: 1, resetTimeout: TimeSpan.FromSeconds(30), timeProvider: clock);
        breaker.RecordFailure(P, Fault);
        clock.Advance(TimeSpan.FromSeconds(20));
        breaker.RecordFailure(P, Fault);
        Assert.That(breaker.GetProbeDelay(P), Is.EqualTo(TimeSpan.FromSeconds(10)));
    }

    [Test]
    public void Slow_successes_count_as_faults_for_the_latency_breaker_only()
    {
        var clock = new FakeTimeProvider();
        var latency = new LatencyCircuitBreakerFailover(TimeSpan.FromSeconds(2), threshold: 3, resetTimeout: TimeSpan.FromSeconds(30), timeProvider: clock);
        var plain = new CircuitBreakerFailover(threshold: 3, timeProvider: clock);
        for (var i = 0; i < 2; i++)
        {
            latency.RecordSuccess(P, TimeSpan.FromSeconds(3));
            plain.RecordSuccess(P, TimeSpan.FromSeconds(3));
        }

        Assert.That(latency.GetConsecutiveFailures(P), Is.EqualTo(2));
        latency.RecordSuccess(P, TimeSpan.FromSeconds(1));
        Assert.That(latency.GetConsecutiveFailures(P), Is.Zero, "a fast success resets the count");

        latency.RecordSuccess(P, TimeSpan.FromSeconds(3));
        latency.RecordFailure(P, Fault);
        latency.RecordSuccess(P, TimeSpan.FromSeconds(2.5));
        Assert.Multiple(() =>
        {
            Assert.That(latency.GetCircuitState(P), Is.EqualTo(HelixCircuitState.Open), "slow and failed reads add up");
            Assert.That(plain.GetCircuitState(P), Is.EqualTo(HelixCircuitState.Closed), "the plain breaker ignores latency");
            Assert.That(latency.LatencyCap, Is.EqualTo(TimeSpan.FromSeconds(2)));
        });

        clock.Advance(TimeSpan.FromSeconds(30));
        latency.RecordSuccess(P, TimeSpan.FromSeconds(5));
        Assert.That(latency.GetCircuitState(P), Is.EqualTo(HelixCircuitState.Open), "a slow probe keeps it open");
        clock.Advance(TimeSpan.FromSeconds(30));
        latency.RecordSuccess(P, TimeSpan.FromMilliseconds(40));
        Assert.That(latency.GetCircuitState(P), Is.EqualTo(HelixCircuitState.Closed), "a fast probe closes it");
    }

    [Test]
    public void Bad_settings_are_refused()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new CircuitBreakerFailover(threshold: 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new CircuitBreakerFailover(resetTimeout: TimeSpan.Zero), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new LatencyCircuitBreakerFailover(TimeSpan.FromMilliseconds(-1)), Throws.InstanceOf<ArgumentOutOfRangeException>());
        });
    }
}
