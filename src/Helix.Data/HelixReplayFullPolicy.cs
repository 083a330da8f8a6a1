namespace Helix.Data;

/// <summary>What happens to a write when the replay queue of a strand that must receive it later is full
/// (connection-string key <c>Replay Full</c>).</summary>
public enum HelixReplayFullPolicy
{
    /// <summary>
    /// The write is rejected with a <see cref="HelixException"/> before anything is executed, so the strands stay
    /// convergent. A write that already ran on one strand when the other faulted cannot be rejected any more; its
    /// replay entry is dropped and reported.
    /// </summary>
    Reject = 0,

    /// <summary>
    /// The write goes ahead on the strands that can take it and its replay entry is dropped: it is logged at error
    /// level, counted and passed to the <c>OnReplayDropped</c> callback. The strands diverge.
    /// </summary>
    Drop = 1,
}
