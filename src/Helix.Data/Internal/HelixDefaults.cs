namespace Helix.Data.Internal;

/// <summary>Default values of the options, in one place so that docs, builders and parsers agree.</summary>
internal static class HelixDefaults
{
    public const int StickyCooldownSeconds = 300;
    public const int CircuitThreshold = 3;
    public const int CircuitResetSeconds = 30;
    public const int LatencyCapMilliseconds = 2000;
    /// <summary>The memory queue's budget per strand: 256 MiB (see docs/replay.md for what it holds).</summary>
    public const long ReplayMemoryLimitBytes = 256L * 1024 * 1024;

    /// <summary><see cref="ReplayMemoryLimitBytes"/> as the connection string writes it.</summary>
    public const string ReplayMemoryLimit = "256MB";
    public const string StrandNames = "primary,secondary";
    public const int DeadLetterRetention = 1_000;
    public const int CommandTimeoutSeconds = 30;
    public const int AdaptiveDeltaMilliseconds = 300;
    public const int AdaptiveStrikes = 3;
    public const int AdaptiveCapMilliseconds = 2000;
    public const int AdaptiveFloorMilliseconds = 100;
    public const int AdaptiveRecovery = 5;
    public const string Name = "helix";
    public const int ReplayBatchSize = 100;
    public const int ReplayMaxAttempts = 5;
    public const int ReplayBackoffMilliseconds = 100;
    public const int ReplayBackoffMaxMilliseconds = 10_000;
    public const int ReplayPollIntervalMilliseconds = 1_000;
    public const int HealingWaitMilliseconds = 1_000;
    public const int InDoubtTimeoutSeconds = 120;

    /// <summary>How long disposing a data source waits for its in-process queue's writes to reach a strand that can take them.</summary>
    public const int DrainOnDisposeSeconds = 5;

    public const int ReplayPriorityRatio = 10;
    public const string DrainBucket = "helix-drain";
    public const int StrandRetry = 1;

    /// <summary>The least wait before a strand retry; each wait is drawn between it and 2.5 times it (20 to 50 ms).</summary>
    public const int StrandRetryDelayMilliseconds = 20;
    public const string HedgeAfter = "Off";

    /// <summary>
    /// The write time below which a concurrent write's second strand is not offered to another thread: waking a pool
    /// thread and joining it costs a few microseconds of both cores, more than running so short a write in turn.
    /// </summary>
    public const int OffloadThresholdMicroseconds = 20;
}
