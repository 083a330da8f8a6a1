using Helix.Data.Logging;
using Helix.Data.Strategies;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal;

/// <summary>
/// Makes the read strategy, write strategy and failover policy of a data source from its connection string, or takes
/// the ones given in code; refuses a string that configures what code replaced, and warns about keys that have no
/// effect with the chosen strategy.
/// </summary>
internal sealed class StrategyFactory(HelixConnectionStringBuilder csb, TimeProvider timeProvider, ILogger logger, bool hasSecondary)
{
    private static readonly string[] ReadKeys = [HelixKeywords.ReadStrategy, HelixKeywords.PreferredStrand, HelixKeywords.StickyCooldown, HelixKeywords.Failback];
    private static readonly string[] WriteKeys = [HelixKeywords.WriteStrategy, HelixKeywords.WriteOrder, HelixKeywords.AdaptiveDelta, HelixKeywords.AdaptiveStrikes, HelixKeywords.AdaptiveCap, HelixKeywords.AdaptiveFloor, HelixKeywords.AdaptiveRecovery];
    private static readonly string[] FailoverKeys = [HelixKeywords.Failover, HelixKeywords.CircuitThreshold, HelixKeywords.CircuitReset, HelixKeywords.LatencyCap];

    public IHelixReadStrategy Read(IHelixReadStrategy? given)
    {
        if (given is not null)
        {
            RefuseKeys(ReadKeys, nameof(HelixDataSourceBuilder.UseReadStrategy));
            return given;
        }

        var strategy = csb.ReadStrategy;
        Ignored(HelixKeywords.PreferredStrand, strategy != HelixReadStrategy.Sticky, "it applies to Read Strategy=Sticky");
        Ignored(HelixKeywords.StickyCooldown, strategy != HelixReadStrategy.Sticky, "it applies to Read Strategy=Sticky");
        Ignored(HelixKeywords.Failback, strategy != HelixReadStrategy.PrimaryOnly, "it applies to Read Strategy=PrimaryOnly");
        return strategy switch
        {
            HelixReadStrategy.PrimaryOnly => new PrimaryOnlyReadStrategy(csb.Failback == HelixFailback.Automatic),
            HelixReadStrategy.RoundRobin => new RoundRobinReadStrategy(),
            _ => new StickyReadStrategy(csb.PreferredStrand, TimeSpan.FromSeconds(csb.StickyCooldown)),
        };
    }

    public IHelixWriteStrategy Write(IHelixWriteStrategy? given)
    {
        if (given is not null)
        {
            RefuseKeys(WriteKeys, nameof(HelixDataSourceBuilder.UseWriteStrategy));
            return given;
        }

        var strategy = csb.WriteStrategy;
        Ignored(HelixKeywords.WriteOrder, strategy != HelixWriteStrategy.Sequential, "it applies to Write Strategy=Sequential");
        foreach (var key in WriteKeys.Where(k => k.StartsWith("Adaptive", StringComparison.Ordinal)))
        {
            Ignored(key, strategy != HelixWriteStrategy.Adaptive, "it applies to Write Strategy=Adaptive");
        }

        return strategy switch
        {
            HelixWriteStrategy.Sequential => new SequentialWriteStrategy(csb.WriteOrder == HelixWriteOrder.SecondaryFirst ? HelixStrand.Secondary : HelixStrand.Primary),
            HelixWriteStrategy.Adaptive => new AdaptiveWriteStrategy(new HelixAdaptiveOptions
            {
                Delta = TimeSpan.FromMilliseconds(csb.AdaptiveDelta),
                Strikes = csb.AdaptiveStrikes,
                Cap = TimeSpan.FromMilliseconds(csb.AdaptiveCap),
                Floor = TimeSpan.FromMilliseconds(csb.AdaptiveFloor),
                Recovery = csb.AdaptiveRecovery,
            }),
            _ => ConcurrentWriteStrategy.Instance,
        };
    }

    public IHelixFailoverPolicy Failover(IHelixFailoverPolicy? given)
    {
        if (given is not null)
        {
            RefuseKeys(FailoverKeys, nameof(HelixDataSourceBuilder.UseFailoverPolicy));
            return given;
        }

        var failover = csb.Failover;
        var breaker = failover is HelixFailover.CircuitBreaker or HelixFailover.LatencyCircuitBreaker;
        Ignored(HelixKeywords.CircuitThreshold, !breaker, "it applies to Failover=CircuitBreaker and LatencyCircuitBreaker");
        Ignored(HelixKeywords.CircuitReset, !breaker, "it applies to Failover=CircuitBreaker and LatencyCircuitBreaker");
        Ignored(HelixKeywords.LatencyCap, failover != HelixFailover.LatencyCircuitBreaker, "it applies to Failover=LatencyCircuitBreaker");
        return failover switch
        {
            HelixFailover.None => NoFailover.Instance,
            HelixFailover.CircuitBreaker => new CircuitBreakerFailover(csb.CircuitThreshold, TimeSpan.FromSeconds(csb.CircuitReset), timeProvider),
            HelixFailover.LatencyCircuitBreaker => new LatencyCircuitBreakerFailover(TimeSpan.FromMilliseconds(csb.LatencyCap), csb.CircuitThreshold, TimeSpan.FromSeconds(csb.CircuitReset), timeProvider),
            _ => ActiveFailover.Instance,
        };
    }

    private void RefuseKeys(string[] keys, string method)
    {
        foreach (var key in keys)
        {
            if (csb.ContainsKey(key))
            {
                throw new ArgumentException(
                    $"Connection-string key '{key}' is set, and HelixDataSourceBuilder.{method} gave a strategy made in code, which replaces what the key configures; remove the key or the call.",
                    key);
            }
        }
    }

    private void Ignored(string key, bool ignored, string reason)
    {
        if (ignored && hasSecondary && csb.ContainsKey(key))
        {
            Log.OptionIgnored(logger, key, reason);
        }
    }
}
