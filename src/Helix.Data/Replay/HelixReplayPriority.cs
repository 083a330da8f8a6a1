namespace Helix.Data.Replay;

/// <summary>The priority of a replay entry; queues that support priorities apply high-priority entries first.</summary>
public enum HelixReplayPriority
{
    /// <summary>The default priority of every write.</summary>
    High = 0,

    /// <summary>Bulk or background writes that may wait behind high-priority ones.</summary>
    Low = 1,
}
