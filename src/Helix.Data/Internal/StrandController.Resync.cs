namespace Helix.Data.Internal;

/// <content>
/// Out of sync and back: a strand that misses writes no queue holds leaves service, and returns only through a
/// resynchronisation an operator makes (<see cref="HelixDataSource.BeginResyncAsync"/>, a copy, <see cref="HelixDataSource.CompleteResync"/>).
/// </content>
internal sealed partial class StrandController
{
    private string? _outOfSyncReason;
    private bool _resyncing;

    // Writes routed past the strand (Skip) that have not settled yet, and what a resynchronisation waits on for them.
    private int _skips;
    private TaskCompletionSource? _skipsSettled;

    /// <summary>Gets whether the strand is being resynchronised: drained by <see cref="BeginResync"/> until <see cref="CompleteResync"/>.</summary>
    public bool IsResyncing
    {
        get
        {
            lock (_lock)
            {
                return _resyncing;
            }
        }
    }

    /// <summary>
    /// An entry for this strand could not be stored although another strand applied its write: the strand now misses an
    /// acknowledged write, and leaves service. Returns false when it was out of sync already.
    /// </summary>
    public bool StoreFailed(Exception error)
    {
        lock (_lock)
        {
            return LeaveService($"the replay queue could not store an entry for a write the other strand applied ({error.GetType().Name}: {Redactor.RedactUrls(error.Message)})");
        }
    }

    /// <summary>A write routed <see cref="WriteRoute.Skip"/> has settled.</summary>
    public void EndSkip()
    {
        lock (_lock)
        {
            if (--_skips == 0)
            {
                _skipsSettled?.TrySetResult();
                _skipsSettled = null;
            }
        }
    }

    /// <summary>
    /// Starts a resynchronisation of a strand out of sync: from now on its writes are queued again (it is Draining, so
    /// the worker applies nothing and reads avoid it). The returned task completes once every write that was routed past
    /// the strand before has settled on the other strand, so that a copy taken afterwards holds them all.
    /// </summary>
    /// <exception cref="InvalidOperationException">The strand is not out of sync.</exception>
    public Task BeginResync(string reason)
    {
        lock (_lock)
        {
            if (_state != HelixStrandState.OutOfSync)
            {
                throw new InvalidOperationException($"Strand {Strand} is {_state}, not {HelixStrandState.OutOfSync}: only a strand out of sync is resynchronised.");
            }

            _resyncing = true;
            _drainReason = "resynchronising: " + reason;
            SetState(HelixStrandState.Draining, _drainReason);
            if (_skips == 0)
            {
                return Task.CompletedTask;
            }

            _skipsSettled ??= new(TaskCreationOptions.RunContinuationsAsynchronously);
            return _skipsSettled.Task;
        }
    }

    /// <summary>
    /// Ends a resynchronisation: the strand is CatchingUp, the worker applies the writes queued since it began, and it
    /// heals. From <see cref="HelixStrandState.OutOfSync"/> directly (no <see cref="BeginResync"/>), only for a copy made
    /// while nothing was written.
    /// </summary>
    /// <exception cref="InvalidOperationException">The strand is neither being resynchronised nor out of sync.</exception>
    public void CompleteResync()
    {
        lock (_lock)
        {
            if (!_resyncing && _state != HelixStrandState.OutOfSync)
            {
                throw new InvalidOperationException($"Strand {Strand} is {_state}: it is not being resynchronised.");
            }

            _resyncing = false;
            _drainReason = null;
            _outOfSyncReason = null;
            SetState(HelixStrandState.CatchingUp, "resynchronised by an operator");
        }

        WorkerSignal.Set();
    }

    // Called under the lock.
    private WriteRoute Skip()
    {
        _skips++;
        return WriteRoute.Skip;
    }

    // Called under the lock.
    private bool LeaveService(string reason)
    {
        if (_state == HelixStrandState.OutOfSync)
        {
            return false;
        }

        _outOfSyncReason = reason;
        _resyncing = false;
        _drainReason = null;
        _deferred = false;
        _deferredByOperator = false;
        SetState(HelixStrandState.OutOfSync, reason);
        WorkerSignal.Set();
        return true;
    }
}
