using Helix.Data.Replay;

namespace Helix.Data.Internal;

/// <summary>
/// Keeps one strand's state (contract section 3) and makes every transition atomic with respect to the routing of
/// writes, which is what keeps the ordering promise: a write routed to the queue holds a reservation until its entry
/// is enqueued, and the strand becomes healthy only when its backlog is empty and no reservation is outstanding.
/// </summary>
internal sealed partial class StrandController
{
    private readonly Lock _lock = new();
    private readonly HelixReplayQueue? _queue;
    private readonly HelixReplayFullPolicy _fullPolicy;
    private readonly TimeProvider _timeProvider;
    private volatile HelixStrandState _state = HelixStrandState.Healthy;
    private int _reservations;
    private bool _healing;
    private TaskCompletionSource _changed = NewChangeSource();
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;
    private string? _drainReason;
    private double _applyRate;
    private long _nextAdmission;
    private volatile bool _deferred;
    private bool _deferredByOperator;
    private string? _deferReason;

    public StrandController(
        HelixStrand strand,
        HelixReplayQueue? queue,
        TimeProvider timeProvider,
        Action<HelixStrand, HelixStrandState, HelixStrandState, string?> onStateChanged,
        HelixReplayFullPolicy fullPolicy = HelixReplayFullPolicy.Reject)
    {
        Strand = strand;
        _queue = queue;
        _fullPolicy = fullPolicy;
        _timeProvider = timeProvider;
        OnStateChanged = onStateChanged;
    }

    public HelixStrand Strand { get; }

    /// <summary>Gets the clock of the data source.</summary>
    public TimeProvider TimeProvider => _timeProvider;

    /// <summary>Wakes the replay worker of this strand.</summary>
    public Signal WorkerSignal { get; } = new();

    /// <summary>
    /// Gets the state, read without the lock (every read routes by it): a transition may be a moment old to a reader, as
    /// it would be a moment after the lock. Write routing reads it under the lock (<see cref="BeginWrite"/>).
    /// </summary>
    public HelixStrandState State => _state;

    /// <summary>A task that completes at the next state change.</summary>
    public Task Changed
    {
        get
        {
            lock (_lock)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>Gets how many replay entries wait for the strand.</summary>
    public long Backlog => _queue?.GetBacklog(Strand) ?? 0;

    /// <summary>Gets whether the write strategy deferred the strand (read without the lock: it may be a moment old).</summary>
    public bool IsDeferred => _deferred;

    private Action<HelixStrand, HelixStrandState, HelixStrandState, string?> OnStateChanged { get; }

    /// <summary>Routes a write to this strand.</summary>
    /// <param name="changed">Completes at the next state change after this decision, to wait on when the route is not direct.</param>
    /// <param name="admissionDelay">For a queued write to a catching-up strand: how long to hold the write back (flow control).</param>
    /// <param name="bypassHealing">Queue the write even while the strand is about to heal (after waiting for that took too long).</param>
    public WriteRoute BeginWrite(out Task changed, out TimeSpan admissionDelay, bool bypassHealing = false)
    {
        admissionDelay = TimeSpan.Zero;
        lock (_lock)
        {
            changed = _changed.Task;
            if (_state == HelixStrandState.Healthy)
            {
                return WriteRoute.Direct;
            }

            if (_state == HelixStrandState.OutOfSync)
            {
                return Skip();
            }

            if (_healing && !bypassHealing)
            {
                return WriteRoute.Wait;
            }

            var route = TryReserve(applied: false);
            if (route == WriteRoute.Queue && _state == HelixStrandState.CatchingUp && _applyRate > 0 && !_deferred)
            {
                // Flow control: while the worker catches up, writes join the backlog at most at half the rate it applies
                // them, so the backlog shrinks even when callers could write faster than a strand can be replayed.
                var now = _timeProvider.GetTimestamp();
                var slot = Math.Max(now, _nextAdmission);
                _nextAdmission = slot + (long)(_timeProvider.TimestampFrequency * 2 / _applyRate);
                admissionDelay = _timeProvider.GetElapsedTime(now, slot);
            }

            return route;
        }
    }

    /// <summary>The worker applied <paramref name="count"/> entries in <paramref name="elapsed"/>: updates the apply rate flow control uses.</summary>
    /// <returns>The apply rate in entries per second.</returns>
    public double ReportApplied(int count, TimeSpan elapsed)
    {
        var sample = count / Math.Max(elapsed.TotalSeconds, 1e-6);
        lock (_lock)
        {
            _applyRate = _applyRate == 0 ? sample : (0.7 * _applyRate) + (0.3 * sample);
            return _applyRate;
        }
    }

    /// <summary>Ends a reservation taken by <see cref="BeginWrite"/> or <see cref="MissedWrite"/>, enqueued or not.</summary>
    public void EndReservation()
    {
        lock (_lock)
        {
            _reservations--;
        }

        WorkerSignal.Set(); // the worker may be waiting for the last reservation before it can heal the strand
    }

    /// <summary>
    /// A direct write did not reach the strand although another strand applied it: leave <see cref="HelixStrandState.Healthy"/>
    /// (to Failed on a strand fault, to CatchingUp when the caller cancelled) and reserve a place for its entry.
    /// </summary>
    public WriteRoute MissedWrite(Exception error, bool isFault)
    {
        WriteRoute route;
        lock (_lock)
        {
            if (_state == HelixStrandState.OutOfSync)
            {
                return Skip();
            }

            if (isFault)
            {
                RecordError(error);
                if (_state is HelixStrandState.Healthy or HelixStrandState.CatchingUp)
                {
                    SetState(HelixStrandState.Failed, error.Message);
                }
            }
            else if (_state == HelixStrandState.Healthy)
            {
                SetState(HelixStrandState.CatchingUp, "a write was cancelled on this strand after another strand applied it");
            }

            route = TryReserve(applied: true);
        }

        WorkerSignal.Set();
        return route;
    }

    /// <summary>A strand fault outside a write (a read, an open, a replay): the strand is down.</summary>
    public void ReportFault(Exception error)
    {
        lock (_lock)
        {
            RecordError(error);
            if (_state is HelixStrandState.Healthy or HelixStrandState.CatchingUp)
            {
                SetState(HelixStrandState.Failed, error.Message);
            }
        }

        WorkerSignal.Set();
    }

    /// <summary>The queue holds entries for a healthy strand (left by an earlier process): it is behind.</summary>
    public void ReportBehind()
    {
        lock (_lock)
        {
            if (_state == HelixStrandState.Healthy)
            {
                SetState(HelixStrandState.CatchingUp, "the replay queue holds entries for it");
            }
        }

        WorkerSignal.Set();
    }

    /// <summary>The worker reached a failed strand.</summary>
    public void ReportReachable()
    {
        lock (_lock)
        {
            if (_state == HelixStrandState.Failed)
            {
                SetState(HelixStrandState.CatchingUp, null);
            }
        }
    }

    /// <summary>
    /// The worker found the backlog empty: the strand becomes healthy unless a write still holds a reservation; then
    /// new writes wait (they are not queued) until the reservations are enqueued and applied, so healing cannot starve.
    /// </summary>
    public bool TryHeal()
    {
        lock (_lock)
        {
            if (_state != HelixStrandState.CatchingUp)
            {
                return _state == HelixStrandState.Healthy;
            }

            if (_deferred)
            {
                return false; // the write strategy keeps it behind until it resumes it
            }

            if (_reservations == 0 && (_queue is null || _queue.GetBacklog(Strand) == 0))
            {
                SetState(HelixStrandState.Healthy, null);
                return true;
            }

            if (!_healing)
            {
                _healing = true;
            }

            return false;
        }
    }

    /// <summary>
    /// The worker is about to empty the backlog: new writes now wait for the strand instead of queueing behind it, so a
    /// steady stream of writes cannot outrun the replay for ever.
    /// </summary>
    public void BeginHealing()
    {
        lock (_lock)
        {
            if (_state == HelixStrandState.CatchingUp && !_deferred)
            {
                _healing = true;
            }
        }
    }

    /// <summary>An operator drains the strand; returns false for a strand out of sync or being resynchronised, which stays as it is.</summary>
    public bool Drain(string reason)
    {
        lock (_lock)
        {
            if (_state == HelixStrandState.OutOfSync || _resyncing)
            {
                return false;
            }

            _drainReason = reason;
            if (_state != HelixStrandState.Draining)
            {
                SetState(HelixStrandState.Draining, reason);
            }
        }

        WorkerSignal.Set();
        return true;
    }

    /// <summary>An operator undrains the strand; a resynchronisation is ended by <see cref="CompleteResync"/> only.</summary>
    public void Undrain()
    {
        lock (_lock)
        {
            if (_state == HelixStrandState.Draining && !_resyncing)
            {
                _drainReason = null;
                SetState(HelixStrandState.CatchingUp, "undrained by an operator");
            }
        }

        WorkerSignal.Set();
    }

    public HelixStrandStatus Snapshot(string name)
    {
        lock (_lock)
        {
            return new(Strand, name, _state, _queue?.GetBacklog(Strand) ?? 0, _lastError, _lastErrorAt, _drainReason)
            {
                DeferReason = _deferred ? _deferReason : null,
                OutOfSyncReason = _state == HelixStrandState.OutOfSync || _resyncing ? _outOfSyncReason : null,
            };
        }
    }

    private static TaskCompletionSource NewChangeSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Reserves a place in the queue for a write's entry; for a full queue, what <c>Replay Full</c> says. An entry whose
    /// write another strand <paramref name="applied"/> already is stored beyond the limit under <c>Reject</c>: the write
    /// can no longer be refused, and nothing acknowledged may be lost.
    /// </summary>
    private WriteRoute TryReserve(bool applied)
    {
        if (_queue is null)
        {
            return WriteRoute.Lost;
        }

        if (_queue.IsFull(Strand, _reservations))
        {
            switch (_fullPolicy)
            {
                case HelixReplayFullPolicy.Resync:
                    LeaveService($"its replay queue is full ({_queue.LimitDescription}) and Replay Full=Resync");
                    return Skip();
                case HelixReplayFullPolicy.Drop:
                    return WriteRoute.Full;
                case HelixReplayFullPolicy.Reject when !applied:
                    return WriteRoute.Full;
            }
        }

        _reservations++;
        return WriteRoute.Queue;
    }

    private void RecordError(Exception error)
    {
        _lastError = $"{error.GetType().Name}: {error.Message}";
        _lastErrorAt = _timeProvider.GetUtcNow();
    }

    // Called under the lock.
    private void SetState(HelixStrandState state, string? reason)
    {
        var previous = _state;
        _state = state;
        _healing = false;
        _nextAdmission = 0;
        var changed = _changed;
        _changed = NewChangeSource();
        changed.TrySetResult();
        OnStateChanged(Strand, previous, state, reason);
    }
}
