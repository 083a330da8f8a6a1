namespace Helix.Data;

/// <summary>The state a <see cref="HelixDataSource"/> keeps for each strand.</summary>
public enum HelixStrandState
{
    /// <summary>Writes are executed on the strand directly, together with the other strand; reads may use it.</summary>
    Healthy = 0,

    /// <summary>
    /// The strand had a strand fault. Writes for it are queued for replay and not attempted directly; reads avoid it.
    /// The replay worker probes it and moves it to <see cref="CatchingUp"/> on the first success.
    /// </summary>
    Failed = 1,

    /// <summary>
    /// The strand answers again and the replay worker is applying its backlog. New writes for it are queued behind
    /// the backlog; reads avoid it. An empty backlog moves it to <see cref="Healthy"/>.
    /// </summary>
    CatchingUp = 2,

    /// <summary>
    /// An operator took the strand out of service. Writes for it are queued for replay and the worker does not apply
    /// them until the strand is undrained; reads avoid it.
    /// </summary>
    Draining = 3,

    /// <summary>
    /// The strand misses writes that no replay queue holds: its queue was full under <c>Replay Full=Resync</c>, or could
    /// not store an entry for a write the other strand had applied. It left service: no writes are queued for it, reads
    /// never use it (not even as a last resort), and the worker leaves it alone. Only a resynchronisation from the other
    /// strand brings it back (<see cref="HelixDataSource.BeginResyncAsync"/>, a copy, <see cref="HelixDataSource.CompleteResync"/>).
    /// </summary>
    OutOfSync = 4,
}
