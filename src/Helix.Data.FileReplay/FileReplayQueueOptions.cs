using Helix.Data.Internal;

namespace Helix.Data.FileReplay;

/// <summary>Settings of a <see cref="FileReplayQueue"/>.</summary>
public sealed class FileReplayQueueOptions
{
    /// <summary>
    /// Gets or sets how many entries one strand's backlog may hold; <see langword="null"/> sets no limit (the disk is one).
    /// Helix applies it before a write runs, as its <c>Replay Full</c> policy says; an entry whose write already ran on the
    /// other strand is stored beyond it.
    /// </summary>
    /// <value>The default value is <see langword="null"/>; from a connection string it is <c>Replay Capacity</c>.</value>
    public long? Capacity { get; set; }

    /// <summary>Gets or sets how many high-priority batches are read in a row before a waiting low-priority batch gets its turn.</summary>
    /// <value>The default value is 10.</value>
    public int PriorityRatio { get; set; } = HelixDefaults.ReplayPriorityRatio;

    /// <summary>Gets or sets a value indicating whether low-priority entries wait until no high-priority entry does.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool StrictPriority { get; set; }
}
