namespace Helix.Data.Internal;

/// <content>Deferral: a healthy strand whose writes go through the ordered replay path for a while (Adaptive, or an operator).</content>
internal sealed partial class StrandController
{
    /// <summary>
    /// The write strategy, or an operator, defers a healthy strand: it goes CatchingUp and stays there (no healing, no
    /// flow control) until <see cref="Resume"/>. Returns false when the strand is not healthy or there is no queue to
    /// hold its writes.
    /// </summary>
    public bool Defer(string reason, bool byOperator)
    {
        lock (_lock)
        {
            if (_state != HelixStrandState.Healthy || _queue is null || _deferred)
            {
                return false;
            }

            _deferred = true;
            _deferredByOperator = byOperator;
            _deferReason = (byOperator ? "by an operator: " : string.Empty) + reason;
            SetState(HelixStrandState.CatchingUp, (byOperator ? "deferred by an operator: " : "deferred by the write strategy: ") + reason);
        }

        WorkerSignal.Set();
        return true;
    }

    /// <summary>
    /// Ends a deferral: the strand heals as any strand does once its backlog is applied. The write strategy
    /// (<paramref name="byStrategy"/>) cannot end an operator's deferral; the operator, and the other strand leaving
    /// Healthy, end any.
    /// </summary>
    public bool Resume(bool byStrategy)
    {
        lock (_lock)
        {
            if (!_deferred || (byStrategy && _deferredByOperator))
            {
                return false;
            }

            _deferred = false;
            _deferredByOperator = false;
            _deferReason = null;
        }

        WorkerSignal.Set();
        return true;
    }
}
