using System.ComponentModel;
using System.Globalization;
using Helix.Data.Internal;

namespace Helix.Data;

/// <content>The keys of replay: the queue and its limits, the worker and its pace, probing, and the drain watch.</content>
public sealed partial class HelixConnectionStringBuilder
{
    /// <summary>Gets or sets where replay entries are kept: <c>Memory</c>, <c>None</c>, <c>nats://host:port</c> or <c>file:path</c> (key <c>Replay</c>).</summary>
    /// <value>The default value is <c>Memory</c>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.Replay)]
    [DefaultValue("Memory")]
    public string Replay
    {
        get => GetString(HelixKeywords.Replay) ?? "Memory";
        set => this[HelixKeywords.Replay] = value;
    }

    /// <summary>
    /// Gets or sets how much memory the in-memory replay queue may take per strand, such as <c>256MB</c> (key
    /// <c>Replay Memory Limit</c>; KB, MB and GB are powers of 1024).
    /// </summary>
    /// <value>The default value is 256 MB.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayMemoryLimit)]
    [DefaultValue(HelixDefaults.ReplayMemoryLimit)]
    public string ReplayMemoryLimit
    {
        get => GetString(HelixKeywords.ReplayMemoryLimit) ?? HelixDefaults.ReplayMemoryLimit;
        set => this[HelixKeywords.ReplayMemoryLimit] = value;
    }

    /// <summary>Gets the <see cref="ReplayMemoryLimit"/> in bytes.</summary>
    internal long ReplayMemoryLimitBytes =>
        TryGetValue(HelixKeywords.ReplayMemoryLimit, out var value) ? HelixKeywords.ParseBytes(HelixKeywords.ReplayMemoryLimit, (string)value) : HelixDefaults.ReplayMemoryLimitBytes;

    /// <summary>
    /// Gets or sets how many entries the replay queue holds per strand, or <see langword="null"/> for no count limit (key
    /// <c>Replay Capacity</c>): the memory queue is bounded by <see cref="ReplayMemoryLimit"/> anyway, a file queue by its disk.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayCapacity)]
    [DefaultValue(null)]
    public int? ReplayCapacity
    {
        get => GetIntOrNull(HelixKeywords.ReplayCapacity);
        set => SetOrRemove(HelixKeywords.ReplayCapacity, value?.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Gets or sets whether this process runs the replay worker; <see langword="false"/> only enqueues (key <c>Replay Worker</c>).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayWorker)]
    [DefaultValue(true)]
    public bool ReplayWorker
    {
        get => GetBool(HelixKeywords.ReplayWorker, fallback: true);
        set => this[HelixKeywords.ReplayWorker] = value;
    }

    /// <summary>Gets or sets what happens to a write when a replay queue it needs is full (key <c>Replay Full</c>).</summary>
    /// <value>The default value is <see cref="HelixReplayFullPolicy.Resync"/>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayFull)]
    [DefaultValue(HelixReplayFullPolicy.Resync)]
    public HelixReplayFullPolicy ReplayFull
    {
        get => GetEnum(HelixKeywords.ReplayFull, HelixReplayFullPolicy.Resync);
        set => this[HelixKeywords.ReplayFull] = value.ToString();
    }

    /// <summary>Gets or sets how many entries the replay worker applies per batch (key <c>Replay Batch Size</c>).</summary>
    /// <value>The default value is 100.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayBatchSize)]
    [DefaultValue(HelixDefaults.ReplayBatchSize)]
    public int ReplayBatchSize
    {
        get => GetInt(HelixKeywords.ReplayBatchSize, HelixDefaults.ReplayBatchSize);
        set => this[HelixKeywords.ReplayBatchSize] = value;
    }

    /// <summary>
    /// Gets or sets how many entries per second the replay worker applies to each strand at most, or <see langword="null"/>
    /// for no limit (key <c>Replay Rate</c>): a strand back from a long outage then gets its backlog at that pace while it
    /// also serves reads, and heals later.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayRate)]
    [DefaultValue(null)]
    public int? ReplayRate
    {
        get => GetIntOrNull(HelixKeywords.ReplayRate);
        set => SetOrRemove(HelixKeywords.ReplayRate, value?.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Gets or sets after how many statement errors a replay entry is dead-lettered (key <c>Replay Max Attempts</c>).</summary>
    /// <value>The default value is 5.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayMaxAttempts)]
    [DefaultValue(HelixDefaults.ReplayMaxAttempts)]
    public int ReplayMaxAttempts
    {
        get => GetInt(HelixKeywords.ReplayMaxAttempts, HelixDefaults.ReplayMaxAttempts);
        set => this[HelixKeywords.ReplayMaxAttempts] = value;
    }

    /// <summary>Gets or sets in milliseconds, the first delay before the worker probes a failed strand again (key <c>Replay Backoff</c>).</summary>
    /// <value>The default value is 100 milliseconds.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayBackoff)]
    [DefaultValue(HelixDefaults.ReplayBackoffMilliseconds)]
    public int ReplayBackoff
    {
        get => GetInt(HelixKeywords.ReplayBackoff, HelixDefaults.ReplayBackoffMilliseconds);
        set => this[HelixKeywords.ReplayBackoff] = value;
    }

    /// <summary>Gets or sets in milliseconds, the longest delay between probes of a failed strand (key <c>Replay Backoff Max</c>).</summary>
    /// <value>The default value is 10000 milliseconds.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayBackoffMax)]
    [DefaultValue(HelixDefaults.ReplayBackoffMaxMilliseconds)]
    public int ReplayBackoffMax
    {
        get => GetInt(HelixKeywords.ReplayBackoffMax, HelixDefaults.ReplayBackoffMaxMilliseconds);
        set => this[HelixKeywords.ReplayBackoffMax] = value;
    }

    /// <summary>Gets or sets in milliseconds, how often the worker looks at a shared queue and probes a deferred strand (key <c>Replay Poll Interval</c>).</summary>
    /// <value>The default value is 1000 milliseconds.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayPollInterval)]
    [DefaultValue(HelixDefaults.ReplayPollIntervalMilliseconds)]
    public int ReplayPollInterval
    {
        get => GetInt(HelixKeywords.ReplayPollInterval, HelixDefaults.ReplayPollIntervalMilliseconds);
        set => this[HelixKeywords.ReplayPollInterval] = value;
    }

    /// <summary>Gets or sets in milliseconds, how long a write waits for a strand about to heal before it queues behind it (key <c>Healing Wait</c>).</summary>
    /// <value>The default value is 1000 milliseconds.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.HealingWait)]
    [DefaultValue(HelixDefaults.HealingWaitMilliseconds)]
    public int HealingWait
    {
        get => GetInt(HelixKeywords.HealingWait, HelixDefaults.HealingWaitMilliseconds);
        set => this[HelixKeywords.HealingWait] = value;
    }

    /// <summary>Gets or sets in seconds, after how long an intent counts as left by a process that died mid-write (key <c>In Doubt Timeout</c>).</summary>
    /// <value>The default value is 120 seconds.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.InDoubtTimeout)]
    [DefaultValue(HelixDefaults.InDoubtTimeoutSeconds)]
    public int InDoubtTimeout
    {
        get => GetInt(HelixKeywords.InDoubtTimeout, HelixDefaults.InDoubtTimeoutSeconds);
        set => this[HelixKeywords.InDoubtTimeout] = value;
    }

    /// <summary>Gets or sets the statement that probes a strand; <see langword="null"/> picks one for the provider (key <c>Probe Command</c>).</summary>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ProbeCommand)]
    [DefaultValue(null)]
    public string? ProbeCommand
    {
        get => GetString(HelixKeywords.ProbeCommand);
        set => SetOrRemove(HelixKeywords.ProbeCommand, value);
    }

    /// <summary>Gets or sets how many high-priority entries a durable queue hands out before a low-priority one (key <c>Replay Priority Ratio</c>).</summary>
    /// <value>The default value is 10.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayPriorityRatio)]
    [DefaultValue(HelixDefaults.ReplayPriorityRatio)]
    public int ReplayPriorityRatio
    {
        get => GetInt(HelixKeywords.ReplayPriorityRatio, HelixDefaults.ReplayPriorityRatio);
        set => this[HelixKeywords.ReplayPriorityRatio] = value;
    }

    /// <summary>Gets or sets whether low-priority entries wait until no high-priority entry does (key <c>Replay Strict Priority</c>).</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayStrictPriority)]
    [DefaultValue(false)]
    public bool ReplayStrictPriority
    {
        get => GetBool(HelixKeywords.ReplayStrictPriority, fallback: false);
        set => this[HelixKeywords.ReplayStrictPriority] = value;
    }

    /// <summary>
    /// Gets or sets the NATS server whose key-value bucket drains strands across a fleet, <c>nats://host:port</c>
    /// (key <c>Drain Watch</c>; needs Helix.Data.Nats).
    /// </summary>
    [Category("Replay")]
    [DisplayName(HelixKeywords.DrainWatch)]
    [DefaultValue(null)]
    public string? DrainWatch
    {
        get => GetString(HelixKeywords.DrainWatch);
        set => SetOrRemove(HelixKeywords.DrainWatch, value);
    }

    /// <summary>Gets or sets the key-value bucket the drain watch reads (key <c>Drain Bucket</c>).</summary>
    /// <value>The default value is <c>helix-drain</c>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.DrainBucket)]
    [DefaultValue(HelixDefaults.DrainBucket)]
    public string DrainBucket
    {
        get => GetString(HelixKeywords.DrainBucket) ?? HelixDefaults.DrainBucket;
        set => this[HelixKeywords.DrainBucket] = value;
    }
}
