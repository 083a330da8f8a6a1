namespace Helix.Data.Strategies;

/// <summary>
/// A circuit per strand (<c>Failover=CircuitBreaker</c>). A read's strand fault is counted, not acted on: the caller
/// gets the error, as with <see cref="NoFailover"/>, and the strand keeps serving reads. After
/// <see cref="Threshold"/> consecutive faults the circuit opens: that read and the following ones go to the other strand.
/// After <see cref="ResetTimeout"/> the circuit is half-open and Helix probes the strand; a successful probe closes the
/// circuit, a failed one keeps it open for another <see cref="ResetTimeout"/>.
/// </summary>
/// <remarks>
/// Use it when reads meet occasional transient errors that a caller's own retry handles better than a move to the other
/// strand (whose caches are cold). Writes are not counted: a write's strand fault fails the strand as always.
/// </remarks>
public class CircuitBreakerFailover : IHelixFailoverPolicy
{
    private readonly Lock _lock = new();
    private readonly Circuit[] _circuits = [new(), new()];
    private readonly TimeProvider _timeProvider;

    /// <summary>Initializes a new instance of the <see cref="CircuitBreakerFailover"/> class.</summary>
    /// <param name="threshold">Consecutive faults that open a circuit (at least 1); default 3.</param>
    /// <param name="resetTimeout">How long a circuit stays open before the strand is probed; default 30 seconds.</param>
    /// <param name="timeProvider">The clock; pass the data source's own (<see cref="HelixDataSourceBuilder.UseTimeProvider"/>).</param>
    public CircuitBreakerFailover(int threshold = Internal.HelixDefaults.CircuitThreshold, TimeSpan? resetTimeout = null, TimeProvider? timeProvider = null)
        : this(threshold, resetTimeout, null, timeProvider)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="CircuitBreakerFailover"/> class with a latency cap.</summary>
    /// <param name="threshold">Consecutive faults that open a circuit (at least 1).</param>
    /// <param name="resetTimeout">How long a circuit stays open before the strand is probed.</param>
    /// <param name="latencyCap">Successes slower than this count as faults; <see langword="null"/> for none.</param>
    /// <param name="timeProvider">The clock.</param>
    protected CircuitBreakerFailover(int threshold, TimeSpan? resetTimeout, TimeSpan? latencyCap, TimeProvider? timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, 1);
        Threshold = threshold;
        ResetTimeout = resetTimeout ?? TimeSpan.FromSeconds(Internal.HelixDefaults.CircuitResetSeconds);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ResetTimeout, TimeSpan.Zero, nameof(resetTimeout));
        if (latencyCap is { } cap)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(cap, TimeSpan.Zero, nameof(latencyCap));
        }

        LatencyCap = latencyCap;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Gets how many consecutive faults open a circuit.</summary>
    public int Threshold { get; }

    /// <summary>Gets how long a circuit stays open before the strand is probed.</summary>
    public TimeSpan ResetTimeout { get; }

    /// <summary>Gets the latency above which a success counts as a fault, or <see langword="null"/>.</summary>
    public TimeSpan? LatencyCap { get; }

    /// <inheritdoc />
    /// <value>Whether a <see cref="LatencyCap"/> is set.</value>
    public virtual bool UsesReadLatency => LatencyCap is not null;

    /// <inheritdoc />
    public bool FailsStrandOnReadFault => false;

    /// <summary>Gets how many consecutive faults the strand's circuit has counted.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>The count.</returns>
    public int GetConsecutiveFailures(HelixStrand strand)
    {
        lock (_lock)
        {
            return _circuits[(int)strand].Failures;
        }
    }

    /// <inheritdoc />
    public bool AllowsReads(HelixStrand strand) => GetCircuitState(strand) == HelixCircuitState.Closed;

    /// <inheritdoc />
    public HelixCircuitState GetCircuitState(HelixStrand strand)
    {
        var circuit = _circuits[(int)strand];
        if (circuit.Clean)
        {
            return HelixCircuitState.Closed; // every read asks: no lock while the circuit has nothing to tell
        }

        lock (_lock)
        {
            return circuit.OpenedAt is not { } opened ? HelixCircuitState.Closed
                : _timeProvider.GetElapsedTime(opened) >= ResetTimeout ? HelixCircuitState.HalfOpen
                : HelixCircuitState.Open;
        }
    }

    /// <inheritdoc />
    public TimeSpan? GetProbeDelay(HelixStrand strand)
    {
        lock (_lock)
        {
            if (_circuits[(int)strand].OpenedAt is not { } opened)
            {
                return null;
            }

            var left = ResetTimeout - _timeProvider.GetElapsedTime(opened);
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }

    /// <inheritdoc />
    public void RecordSuccess(HelixStrand strand, TimeSpan elapsed)
    {
        if (LatencyCap is { } cap && elapsed > cap)
        {
            Fault(strand);
            return;
        }

        var circuit = _circuits[(int)strand];
        if (circuit.Clean)
        {
            return;
        }

        lock (_lock)
        {
            // The strand answered in time: whatever the circuit was, it is closed now.
            circuit.Failures = 0;
            circuit.OpenedAt = null;
        }
    }

    /// <inheritdoc />
    public void RecordFailure(HelixStrand strand, Exception fault) => Fault(strand);

    /// <inheritdoc />
    public bool ShouldFailover(HelixStrand strand, Exception fault) => GetCircuitState(strand) != HelixCircuitState.Closed;

    private void Fault(HelixStrand strand)
    {
        lock (_lock)
        {
            var circuit = _circuits[(int)strand];
            var now = _timeProvider.GetTimestamp();
            if (circuit.OpenedAt is { } opened)
            {
                // A failed probe (half-open) opens the circuit for another reset timeout; while open, it stays as it is.
                if (_timeProvider.GetElapsedTime(opened, now) >= ResetTimeout)
                {
                    circuit.OpenedAt = now;
                }

                return;
            }

            if (++circuit.Failures >= Threshold)
            {
                circuit.OpenedAt = now;
            }
        }
    }

    /// <summary>One strand's circuit; changed under the policy's lock.</summary>
    private sealed class Circuit
    {
        private int _failures;
        private long? _openedAt;
        private volatile bool _clean = true;

        public int Failures
        {
            get => _failures;
            set
            {
                _failures = value;
                _clean = value == 0 && _openedAt is null;
            }
        }

        public long? OpenedAt
        {
            get => _openedAt;
            set
            {
                _openedAt = value;
                _clean = _failures == 0 && value is null;
            }
        }

        /// <summary>Gets whether the circuit is closed with no fault counted: read without the lock, a moment old at worst.</summary>
        public bool Clean => _clean;
    }
}
