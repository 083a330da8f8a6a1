namespace Helix.Data.Internal;

/// <summary>How a write reaches one strand, decided atomically with the strand's state.</summary>
internal enum WriteRoute
{
    /// <summary>The strand is healthy: execute the write on it now.</summary>
    Direct,

    /// <summary>The strand is behind: a reservation was taken; enqueue the entry (or release the reservation).</summary>
    Queue,

    /// <summary>The strand is about to become healthy: wait for that, then route again.</summary>
    Wait,

    /// <summary>The strand is behind and its replay queue is full.</summary>
    Full,

    /// <summary>The strand is behind and there is no replay queue (<c>Replay=None</c>): the write is lost for it.</summary>
    Lost,

    /// <summary>
    /// The strand is out of sync: nothing is queued for it. The route holds the strand until the write has settled
    /// (<see cref="StrandController.EndSkip"/>), so that a resynchronisation begun meanwhile waits for the write.
    /// </summary>
    Skip,
}
