using Helix.Data.Strategies;
using Microsoft.Extensions.Time.Testing;

namespace Helix.Data.Tests.Strategies;

/// <summary>Two strands whose states, circuits and deferrals a test sets by hand, for strategies tested on their own.</summary>
internal sealed class FakeStrands(FakeTimeProvider? clock = null) : IHelixWriteControl
{
    private readonly HelixStrandState[] _states = [HelixStrandState.Healthy, HelixStrandState.Healthy];
    private readonly bool[] _closed = [true, true];
    private readonly bool[] _deferred = new bool[2];

    public List<(HelixStrand Strand, string Reason)> Deferrals { get; } = [];

    public List<HelixStrand> Undeferrals { get; } = [];

    public int Count => 2;

    public TimeProvider TimeProvider { get; } = clock ?? new FakeTimeProvider();

    public void Set(HelixStrand strand, HelixStrandState state) => _states[(int)strand] = state;

    public void SetCircuit(HelixStrand strand, bool closed) => _closed[(int)strand] = closed;

    public string GetName(HelixStrand strand) => strand.ToString().ToLowerInvariant();

    public HelixStrandState GetState(HelixStrand strand) => _states[(int)strand];

    public long GetBacklog(HelixStrand strand) => 0;

    public bool IsDeferred(HelixStrand strand) => _deferred[(int)strand];

    public HelixCircuitState GetCircuitState(HelixStrand strand) => _closed[(int)strand] ? HelixCircuitState.Closed : HelixCircuitState.Open;

    public bool CanRead(HelixStrand strand) => _states[(int)strand] == HelixStrandState.Healthy && _closed[(int)strand];

    public bool Defer(HelixStrand strand, string reason)
    {
        var other = 1 - (int)strand;
        if (_states[(int)strand] != HelixStrandState.Healthy || _states[other] != HelixStrandState.Healthy || _deferred[other])
        {
            return false;
        }

        _deferred[(int)strand] = true;
        _states[(int)strand] = HelixStrandState.CatchingUp;
        Deferrals.Add((strand, reason));
        return true;
    }

    public void Undefer(HelixStrand strand)
    {
        _deferred[(int)strand] = false;
        Undeferrals.Add(strand);
    }
}
