using Helix.Data.Logging;
using Helix.Data.Strategies;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal;

/// <summary>The strands of a two-strand data source as strategies and policies see and steer them.</summary>
internal sealed class StrandSet : IHelixWriteControl
{
    private readonly Strand[] _strands;
    private readonly IHelixFailoverPolicy _policy;
    private readonly ILogger _logger;
    private readonly Lock _deferLock = new();

    public StrandSet(Strand[] strands, IHelixFailoverPolicy policy, TimeProvider timeProvider, ILogger logger)
    {
        _strands = strands;
        _policy = policy;
        _logger = logger;
        TimeProvider = timeProvider;
    }

    public int Count => _strands.Length;

    public TimeProvider TimeProvider { get; }

    public string GetName(HelixStrand strand) => Get(strand).Name;

    public HelixStrandState GetState(HelixStrand strand) => Get(strand).State;

    public long GetBacklog(HelixStrand strand) => Get(strand).Controller.Backlog;

    public bool IsDeferred(HelixStrand strand) => Get(strand).Controller.IsDeferred;

    public HelixCircuitState GetCircuitState(HelixStrand strand) => _policy.GetCircuitState(strand);

    public bool CanRead(HelixStrand strand) => Get(strand).IsHealthy && _policy.AllowsReads(strand);

    public bool Defer(HelixStrand strand, string reason) => Defer(strand, reason, byOperator: false);

    /// <summary>Defers a healthy strand for the write strategy or for an operator; false when it cannot be deferred.</summary>
    public bool Defer(HelixStrand strand, string reason, bool byOperator)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var target = Get(strand);
        var other = _strands[1 - target.Index];
        lock (_deferLock)
        {
            // One strand always takes writes synchronously: never defer when the other is not healthy or is deferred.
            if (!other.IsHealthy || other.Controller.IsDeferred || !target.Controller.Defer(reason, byOperator))
            {
                return false;
            }
        }

        // The other strand may have left Healthy meanwhile; its state change resumes a deferred sibling, and so does this.
        if (!other.IsHealthy)
        {
            Resume(strand, $"strand {other.Name} is {other.State}");
            return false;
        }

        Log.StrandDeferred(_logger, target.Name, reason);
        HelixMetrics.Deferrals.Add(1, target.MetricTags);
        return true;
    }

    public void Undefer(HelixStrand strand) => Resume(strand, "the write strategy resumed it", byStrategy: true);

    /// <summary>Ends a deferral; the write strategy cannot end an operator's.</summary>
    public void Resume(HelixStrand strand, string reason, bool byStrategy = false)
    {
        var target = Get(strand);
        if (target.Controller.Resume(byStrategy))
        {
            Log.StrandResumed(_logger, target.Name, reason);
        }
    }

    private Strand Get(HelixStrand strand) => (uint)strand < (uint)_strands.Length ? _strands[(int)strand] : ThrowNoSuchStrand(strand);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static Strand ThrowNoSuchStrand(HelixStrand strand) =>
        throw new ArgumentOutOfRangeException(nameof(strand), strand, "The data source has no such strand.");
}
