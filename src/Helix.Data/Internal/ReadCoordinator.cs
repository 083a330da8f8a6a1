using Helix.Data.Internal.Execution;
using Helix.Data.Logging;
using Helix.Data.Strategies;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal;

/// <summary>
/// Routes reads (contract section 6): the failover policy is the gatekeeper, the read strategy routes within what it
/// allows, and Helix keeps reads on healthy strands unless none can answer.
/// </summary>
internal sealed class ReadCoordinator
{
    private readonly Strand[] _strands;
    private readonly StrandSet _view;
    private readonly ILogger _logger;
    private readonly bool _hasCircuits;
    private readonly int[] _circuits;

    // Whether the policy and the strategy do anything with a success: the built-in ones that keep no state do not, and a
    // read then spends no interface call on telling them.
    private readonly bool _policyTakesSuccesses;
    private readonly bool _strategyTakesSuccesses;

    // Hedge After=Auto: the hedging that learns each strand's read times from the reads it answers.
    private readonly Execution.ReadHedging? _hedging;

    public ReadCoordinator(Strand[] strands, IHelixReadStrategy strategy, IHelixFailoverPolicy policy, StrandSet view, ILogger logger, Execution.ReadHedging? hedging = null)
    {
        _hedging = hedging is { IsAuto: true } ? hedging : null;
        _strands = strands;
        Strategy = strategy;
        Policy = policy;
        _view = view;
        _logger = logger;
        _hasCircuits = policy.HasCircuits;
        _policyTakesSuccesses = policy.ObservesSuccesses;
        _strategyTakesSuccesses = strategy.ObservesSuccesses;
        _circuits = new int[strands.Length];
        UsesElapsed = _strategyTakesSuccesses || (_policyTakesSuccesses && policy.UsesReadLatency) || _hedging is not null;
    }

    /// <summary>
    /// Gets whether the strategy or the policy may use how long a read took: a custom one, or a circuit breaker with a
    /// latency cap; or <c>Hedge After=Auto</c>, which learns each strand's read times. When neither does, reads are not timed (two clock reads per read) unless a meter listens.
    /// </summary>
    public bool UsesElapsed { get; }

    public IHelixReadStrategy Strategy { get; }

    public IHelixFailoverPolicy Policy { get; }

    /// <summary>Wakes the circuit prober when a circuit may have opened.</summary>
    public Signal CircuitChanged { get; } = new();

    /// <summary>Returns the strand to read from: the strategy's pick, else a healthy one; <see langword="null"/> when none is healthy.</summary>
    public Strand? Pick() => Resolve(Strategy.Choose(_view));

    /// <summary>The first healthy strand, primary before secondary: where a read of a token each database generates goes (<see cref="Execution.IStatement.ReadsServerToken"/>).</summary>
    public Strand? FirstHealthy() => Array.Find(_strands, s => s.IsHealthy);

    /// <summary>Returns the strand the next read would most likely use, without moving routing state.</summary>
    public Strand? Peek() => Resolve(Strategy.Preview(_view));

    /// <summary>The strand a connection opens first when none is healthy: catching up, then failed, then draining; never one out of sync if another is not.</summary>
    public Strand LastResort(Strand? exclude) => Fallback(exclude, mustBeCaughtUp: false) ?? exclude ?? _strands[0];

    /// <summary>
    /// The strand a read goes to when no healthy strand can serve it, or <see langword="null"/> when none may: never one
    /// out of sync (it misses writes for good); with <c>Stale Reads=Never</c>, only one whose replay backlog is empty. A
    /// write is acknowledged only once its entry is stored, so a strand with nothing queued holds every write this data
    /// source acknowledged: reading it keeps read-your-writes.
    /// </summary>
    public Strand? ReadableWithoutHealthy(Strand? exclude, HelixStaleReads staleReads) => Fallback(exclude, mustBeCaughtUp: staleReads == HelixStaleReads.Never);

    private Strand? Fallback(Strand? exclude, bool mustBeCaughtUp)
    {
        Strand? best = null;
        foreach (var strand in _strands)
        {
            if (strand != exclude && strand.State != HelixStrandState.OutOfSync && (best is null || Rank(strand.State) < Rank(best.State))
                && (!mustBeCaughtUp || strand.IsHealthy || strand.Controller.Backlog == 0))
            {
                best = strand;
            }
        }

        return best;

        static int Rank(HelixStrandState state) => state switch
        {
            HelixStrandState.Healthy => 0,
            HelixStrandState.CatchingUp => 1,
            HelixStrandState.Failed => 2,
            _ => 3,
        };
    }

    /// <summary>The other strand, healthy or not (for opening a connection when the first strand cannot be opened).</summary>
    public Strand? Other(Strand strand) => _strands.Length == 1 ? null : _strands[1 - strand.Index];

    /// <summary>A read succeeded on the strand in <paramref name="elapsed"/>.</summary>
    public void Succeeded(Strand strand, TimeSpan elapsed)
    {
        if (_policyTakesSuccesses)
        {
            Policy.RecordSuccess(strand.Id, elapsed);
        }

        if (_strategyTakesSuccesses)
        {
            Strategy.OnSuccess(strand.Id, elapsed);
        }

        _hedging?.Observe(strand, elapsed);
        NoteCircuit(strand);
    }

    /// <summary>
    /// A read met a strand fault: the policy counts it (and may fail the strand, unless its server ended the read itself
    /// and so answered: a timeout, a deadlock); returns the strand to retry on when the policy allows a failover and the
    /// strategy names one, else <see langword="null"/>.
    /// </summary>
    public Strand? Faulted(in StrandResult result)
    {
        var (strand, error) = (result.Strand, result.Error!);
        Policy.RecordFailure(strand.Id, error);
        if (Policy.FailsStrandOnReadFault && !result.ServerEnded)
        {
            strand.Controller.ReportFault(error);
        }

        NoteCircuit(strand);
        if (!Policy.ShouldFailover(strand.Id, error))
        {
            return null;
        }

        return Strategy.OnFailure(strand.Id, _view) is { } next && next != strand.Id && (int)next < _strands.Length ? _strands[(int)next] : null;
    }

    /// <summary>Opening a connection to the strand met a fault: the strand is down for writes and reads alike.</summary>
    public void OpenFaulted(Strand strand, Exception error)
    {
        strand.Controller.ReportFault(error);
        Policy.RecordFailure(strand.Id, error);
        Strategy.OnFailure(strand.Id, _view);
        NoteCircuit(strand);
    }

    /// <summary>A write or transaction met a fault on the strand (which is failed already): reads move away from it.</summary>
    public void StrandFailed(Strand strand) => Strategy.OnFailure(strand.Id, _view);

    /// <summary>Logs and counts a change of the strand's circuit, and wakes the prober when a circuit is not closed.</summary>
    /// <remarks>A policy without circuits is known at construction: that check is inlined into every caller.</remarks>
    public void NoteCircuit(Strand strand)
    {
        if (_hasCircuits)
        {
            NoteCircuitOf(strand);
        }
    }

    private void NoteCircuitOf(Strand strand)
    {
        var state = Policy.GetCircuitState(strand.Id);
        var previous = (HelixCircuitState)Interlocked.Exchange(ref _circuits[strand.Index], (int)state);
        if (previous == state)
        {
            return;
        }

        Log.CircuitChanged(_logger, strand.Name, state, previous);
        HelixMetrics.CircuitTransitions.Add(1, HelixMetrics.With(strand.MetricTags, "helix.circuit.state", HelixMetrics.CircuitStateName(state)));
        if (state != HelixCircuitState.Closed)
        {
            CircuitChanged.Set();
        }
    }

    // The strategy's choice, inlined into every read; the search when it chose none is out of line.
    private Strand? Resolve(HelixStrand? chosen) =>
        chosen is { } id && (uint)id < (uint)_strands.Length ? _strands[(int)id] : Unchosen();

    private Strand? Unchosen()
    {
        // The strategy found no strand the policy lets reads reach: a healthy strand still beats a stale one.
        foreach (var strand in _strands)
        {
            if (_view.CanRead(strand.Id))
            {
                return strand;
            }
        }

        foreach (var strand in _strands)
        {
            if (strand.IsHealthy)
            {
                return strand;
            }
        }

        return null;
    }
}
