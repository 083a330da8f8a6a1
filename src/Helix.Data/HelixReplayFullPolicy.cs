namespace Helix.Data;

/// <summary>What happens to a write when the replay queue of a strand that must receive it later is full
/// (connection-string key <c>Replay Full</c>).</summary>
public enum HelixReplayFullPolicy
{
    /// <summary>
    /// The write is rejected with a <see cref="HelixException"/> before anything is executed, so the strands stay
    /// convergent; the application cannot write until the strand comes back and its backlog shrinks. A write that already
    /// ran on one strand when the other faulted cannot be rejected any more: its entry is stored beyond the limit.
    /// </summary>
    Reject = 0,

    /// <summary>
    /// The write goes ahead on the strands that can take it and its replay entry is dropped: it is logged at error
    /// level, counted and passed to the <c>OnDivergence</c> callback. The strands diverge.
    /// </summary>
    Drop = 1,

    /// <summary>
    /// The default. The strand whose queue is full leaves service as <see cref="HelixStrandState.OutOfSync"/>: no more
    /// writes are queued for it, reads never use it, and its backlog is discarded. Writes go on, acknowledged by the other
    /// strand, so nothing acknowledged is lost; the strand comes back only through a resynchronisation from the other
    /// (<see cref="HelixDataSource.BeginResyncAsync"/>, copy, <see cref="HelixDataSource.CompleteResync"/>).
    /// </summary>
    Resync = 2,
}
