namespace Helix.Data.Logging;

/// <summary>
/// Stable event ids of Helix.Data's log events, in ranges: 1000 data source, 2000 strand state, 3000 writes,
/// 4000 reads, 5000 replay.
/// </summary>
internal static class EventIds
{
    public const int DataSourceCreated = 1000;
    public const int ReplayDisabled = 1001;
    public const int OptionIgnored = 1002;
    public const int UnreplayedWritesLost = 1003;

    public const int StrandStateChanged = 2000;
    public const int StrandDeferred = 2001;
    public const int StrandResumed = 2002;
    public const int CircuitChanged = 2003;
    public const int CircuitProbed = 2004;
    public const int StrandOutOfSync = 2005;
    public const int ResyncBegun = 2006;
    public const int ResyncCompleted = 2007;
    public const int DrainIgnored = 2008;

    public const int Divergence = 3000;
    public const int ReplayDropped = 3001;
    public const int WriteRejected = 3002;

    public const int ReadFailover = 4000;
    public const int StaleRead = 4001;
    public const int ReadWaitsForFreshStrand = 4002;
    public const int StrandRetry = 4003;
    public const int HedgeStarted = 4004;

    public const int ReplayApplied = 5000;
    public const int ReplayStatementError = 5001;
    public const int ReplayDeadLettered = 5002;
    public const int ReplayProbeFailed = 5003;
    public const int ReplayWorkerError = 5004;
    public const int ReplayQueueUnavailable = 5005;
    public const int IntentNotForgotten = 3003;
    public const int CallbackFailed = 3004;
    public const int RollbackFailed = 3005;
    public const int TypesNotReloaded = 3006;
    public const int StrandSourceNotUsed = 3007;
    public const int AmbientRolledBackAfterCommit = 3008;
    public const int NondeterministicWrite = 3009;
    public const int LastGeneratedKeyRead = 3010;
    public const int IntentsPromoted = 5006;
    public const int ReplayHookFailed = 5007;
}
