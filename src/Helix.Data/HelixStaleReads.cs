namespace Helix.Data;

/// <summary>
/// What a read does when no healthy strand can serve it and the strands that could lag behind the writes this data
/// source acknowledged (connection-string key <c>Stale Reads</c>).
/// </summary>
public enum HelixStaleReads
{
    /// <summary>
    /// The default: read-your-writes holds. The read goes to a strand that has applied every write acknowledged before it
    /// (one whose replay backlog is empty), waiting within the command timeout for one to catch up, and fails with a
    /// <see cref="HelixException"/> when none does.
    /// </summary>
    Never = 0,

    /// <summary>The read goes to the strand most likely to answer, caught up or not, and is counted as a stale read.</summary>
    Allow = 1,
}
