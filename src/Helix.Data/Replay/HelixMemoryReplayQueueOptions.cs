using Helix.Data.Internal;

namespace Helix.Data.Replay;

/// <summary>Limits of a <see cref="HelixMemoryReplayQueue"/>, per strand.</summary>
public sealed class HelixMemoryReplayQueueOptions
{
    /// <summary>
    /// Gets or sets how much memory, in bytes, one strand's backlog may take (connection-string key
    /// <c>Replay Memory Limit</c>). Entries are measured by an estimate of the objects they hold: statement texts,
    /// parameters and their values.
    /// </summary>
    /// <value>The default value is 256 MiB: at about 1 KiB an entry, some 260,000 writes, over five minutes at 800 writes a second.</value>
    public long MemoryLimit { get; set; } = HelixDefaults.ReplayMemoryLimitBytes;

    /// <summary>Gets or sets how many entries one strand's backlog may hold (key <c>Replay Capacity</c>), or <see langword="null"/> for no count limit.</summary>
    /// <value>The default value is <see langword="null"/>: the memory limit alone bounds the backlog.</value>
    public long? Capacity { get; set; }

    /// <summary>Gets or sets how many dead letters are kept for inspection; older ones are forgotten.</summary>
    /// <value>The default value is 1,000.</value>
    public int DeadLetterRetention { get; set; } = HelixDefaults.DeadLetterRetention;

    /// <summary>
    /// Gets or sets how many batches of high-priority entries a strand gets in a row, when low-priority ones wait too,
    /// before a batch of low-priority ones (key <c>Replay Priority Ratio</c>).
    /// </summary>
    /// <value>The default value is 10.</value>
    public int PriorityRatio { get; set; } = HelixDefaults.ReplayPriorityRatio;

    /// <summary>Gets or sets whether low-priority entries wait until no high-priority one does (key <c>Replay Strict Priority</c>).</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool StrictPriority { get; set; }

    internal HelixMemoryReplayQueueOptions Validated()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MemoryLimit, 1, nameof(MemoryLimit));
        if (Capacity is { } capacity)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1, nameof(Capacity));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(DeadLetterRetention, nameof(DeadLetterRetention));
        ArgumentOutOfRangeException.ThrowIfLessThan(PriorityRatio, 1, nameof(PriorityRatio));
        return new() { MemoryLimit = MemoryLimit, Capacity = Capacity, DeadLetterRetention = DeadLetterRetention, PriorityRatio = PriorityRatio, StrictPriority = StrictPriority };
    }
}
