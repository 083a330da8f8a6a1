using System.ComponentModel.DataAnnotations;
using Helix.Data.Internal;

namespace Helix.Data.Replay;

/// <summary>Tuning of the replay worker, set through <see cref="HelixDataSourceBuilder.ConfigureReplay"/>.</summary>
public sealed class HelixReplayOptions
{
    /// <summary>Gets or sets how many entries the worker reads and applies per batch.</summary>
    /// <value>The default value is 100.</value>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = HelixDefaults.ReplayBatchSize;

    /// <summary>
    /// Gets or sets how many entries per second the worker applies to each strand at most, or <see langword="null"/> for
    /// no limit: a strand back from a long outage gets its backlog at that pace while it also serves reads.
    /// </summary>
    /// <value>The default value is <see langword="null"/> (no limit).</value>
    public int? Rate { get; set; }

    /// <summary>Gets or sets after how many statement errors an entry is dead-lettered. Strand faults never count.</summary>
    /// <value>The default value is 5.</value>
    [Range(1, 1_000)]
    public int MaxAttempts { get; set; } = HelixDefaults.ReplayMaxAttempts;

    /// <summary>Gets or sets the first delay before the worker probes a failed strand again.</summary>
    /// <value>The default value is 100 milliseconds.</value>
    public TimeSpan BackoffInitial { get; set; } = TimeSpan.FromMilliseconds(HelixDefaults.ReplayBackoffMilliseconds);

    /// <summary>Gets or sets the longest delay between probes; delays double up to it, with jitter.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan BackoffMax { get; set; } = TimeSpan.FromMilliseconds(HelixDefaults.ReplayBackoffMaxMilliseconds);

    /// <summary>
    /// Gets or sets how long a write waits for a strand whose last replay entries are being applied, so that it can
    /// be written directly, before it is queued behind them instead.
    /// </summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan HealingWait { get; set; } = TimeSpan.FromMilliseconds(HelixDefaults.HealingWaitMilliseconds);

    /// <summary>
    /// Gets or sets how often the worker looks for entries in a shared queue (other processes may add them), and how
    /// often a process without a worker checks whether the replay service emptied a backlog.
    /// </summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(HelixDefaults.ReplayPollIntervalMilliseconds);

    /// <summary>
    /// Gets or sets after how long an intent (a write recorded before it ran while a strand was behind) is taken to
    /// belong to a process that died mid-write, so that the worker brings the write to every strand. It must be longer
    /// than any write takes.
    /// </summary>
    /// <value>The default value is 2 minutes.</value>
    public TimeSpan InDoubtTimeout { get; set; } = TimeSpan.FromSeconds(HelixDefaults.InDoubtTimeoutSeconds);

    /// <summary>
    /// Gets or sets how long disposing the data source waits for the worker to apply what the data source's own
    /// in-process queue (<c>Replay=Memory</c>) still holds for a strand that can take it (healthy or catching up): those
    /// writes end with the process. What is left then is logged as lost (event 1003). Zero: no wait. Durable and
    /// shared queues keep their entries, and the data source does not wait for them.
    /// </summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan DrainOnDispose { get; set; } = TimeSpan.FromSeconds(HelixDefaults.DrainOnDisposeSeconds);

    /// <summary>
    /// Gets or sets the statement the worker runs to probe a failed strand whose backlog is empty; <see langword="null"/>
    /// picks one for the provider (<c>SELECT 1</c>, or a read of the schema table for SQLite).
    /// </summary>
    public string? ProbeCommandText { get; set; }

    internal HelixReplayOptions Validated()
    {
        if (BatchSize < 1 || MaxAttempts < 1)
        {
            throw new ArgumentException($"Replay options need BatchSize ≥ 1 and MaxAttempts ≥ 1 (got {BatchSize} and {MaxAttempts}).");
        }

        if (Rate < 1)
        {
            throw new ArgumentException($"Replay options need Rate ≥ 1 entry per second, or null for no limit (got {Rate}).");
        }

        if (BackoffInitial <= TimeSpan.Zero || BackoffMax < BackoffInitial)
        {
            throw new ArgumentException($"Replay options need 0 < BackoffInitial ≤ BackoffMax (got {BackoffInitial} and {BackoffMax}).");
        }

        if (DrainOnDispose < TimeSpan.Zero)
        {
            throw new ArgumentException($"Replay options need DrainOnDispose ≥ 0 (got {DrainOnDispose}).");
        }

        if (HealingWait < TimeSpan.Zero || PollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Replay options need HealingWait ≥ 0 and PollInterval > 0 (got {HealingWait} and {PollInterval}).");
        }

        return new()
        {
            BatchSize = BatchSize,
            Rate = Rate,
            MaxAttempts = MaxAttempts,
            BackoffInitial = BackoffInitial,
            BackoffMax = BackoffMax,
            HealingWait = HealingWait,
            PollInterval = PollInterval,
            InDoubtTimeout = InDoubtTimeout,
            ProbeCommandText = ProbeCommandText,
            DrainOnDispose = DrainOnDispose,
        };
    }
}
