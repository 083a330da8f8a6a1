using Microsoft.Extensions.Logging;

namespace Helix.Data.Logging;

/// <summary>Helix.Data's log events. Messages carry strand names and statement texts, never connection strings or parameter values.</summary>
internal static partial class Log
{
    [LoggerMessage(EventIds.DataSourceCreated, LogLevel.Debug, "Helix data source created: {Description}")]
    public static partial void DataSourceCreated(ILogger logger, string description);

    [LoggerMessage(EventIds.UnreplayedWritesLost, LogLevel.Error, "Data source {Name} was disposed with {Count} writes (or whole transactions) not yet replayed to strand {Strand}. Replay=Memory keeps them in this process only: they are lost, and strand {Strand} misses them. Compare and repair the strands (helix verify, helix repair), and use a durable queue (Replay=file:... or Replay=nats://...) to keep such writes across restarts")]
    public static partial void UnreplayedWritesLost(ILogger logger, string name, long count, string strand);

    [LoggerMessage(EventIds.ReplayDisabled, LogLevel.Warning, "Replay=None: a write that a strand misses is lost for that strand, and the strands diverge. Use Replay=Memory or a durable queue in production.")]
    public static partial void ReplayDisabled(ILogger logger);

    [LoggerMessage(EventIds.StrandStateChanged, LogLevel.Information, "Strand {Strand} is now {State} (was {Previous}){Reason}")]
    public static partial void StrandStateChanged(ILogger logger, string strand, HelixStrandState state, HelixStrandState previous, string reason);

    [LoggerMessage(EventIds.OptionIgnored, LogLevel.Warning, "Connection-string key '{Key}' has no effect: {Reason}")]
    public static partial void OptionIgnored(ILogger logger, string key, string reason);

    [LoggerMessage(EventIds.StrandDeferred, LogLevel.Warning, "Strand {Strand} is deferred: its writes go through replay and callers no longer wait for it, because {Reason}")]
    public static partial void StrandDeferred(ILogger logger, string strand, string reason);

    [LoggerMessage(EventIds.StrandResumed, LogLevel.Information, "Strand {Strand} is no longer deferred ({Reason}); it takes writes directly again once its backlog is applied")]
    public static partial void StrandResumed(ILogger logger, string strand, string reason);

    [LoggerMessage(EventIds.StrandOutOfSync, LogLevel.Error, "Strand {Strand} is out of sync and left service: {Reason}. Writes go on without it and reads avoid it; it comes back only through a resynchronisation from the other strand (BeginResyncAsync, a copy, CompleteResync)")]
    public static partial void StrandOutOfSync(ILogger logger, string strand, string reason);

    [LoggerMessage(EventIds.ResyncBegun, LogLevel.Warning, "Resynchronisation of strand {Strand} begun: its writes are queued again; {Discarded} entries of its old backlog were discarded. Copy the data from the other strand, then call CompleteResync")]
    public static partial void ResyncBegun(ILogger logger, string strand, long discarded);

    [LoggerMessage(EventIds.ResyncCompleted, LogLevel.Information, "Resynchronisation of strand {Strand} completed: it catches up with the writes queued meanwhile, then takes writes and reads again")]
    public static partial void ResyncCompleted(ILogger logger, string strand);

    [LoggerMessage(EventIds.DrainIgnored, LogLevel.Warning, "Strand {Strand} was not drained: it is {State}, out of service until it is resynchronised")]
    public static partial void DrainIgnored(ILogger logger, string strand, HelixStrandState state);

    [LoggerMessage(EventIds.ReadWaitsForFreshStrand, LogLevel.Debug, "No healthy strand can serve a read and none has applied every acknowledged write; the read waits for one ({Strands})")]
    public static partial void ReadWaitsForFreshStrand(ILogger logger, string strands);

    [LoggerMessage(EventIds.CircuitChanged, LogLevel.Warning, "The read circuit of strand {Strand} is now {State} (was {Previous})")]
    public static partial void CircuitChanged(ILogger logger, string strand, Strategies.HelixCircuitState state, Strategies.HelixCircuitState previous);

    [LoggerMessage(EventIds.CircuitProbed, LogLevel.Information, "Probed strand {Strand} for its read circuit: {Outcome} in {Elapsed}")]
    public static partial void CircuitProbed(ILogger logger, string strand, string outcome, TimeSpan elapsed);

    [LoggerMessage(EventIds.Divergence, LogLevel.Warning, "Strands diverge ({Kind}) on strand {Strand}: {Message}. Statement: {CommandText}")]
    public static partial void Divergence(ILogger logger, HelixDivergenceKind kind, string strand, string message, string commandText);

    [LoggerMessage(EventIds.ReplayDropped, LogLevel.Error, "Replay entry for strand {Strand} dropped: {Reason}. The strands now diverge. Statement: {CommandText}")]
    public static partial void ReplayDropped(ILogger logger, string strand, string reason, string commandText);

    [LoggerMessage(EventIds.NondeterministicWrite, LogLevel.Warning, "A write uses {Call}, which each strand evaluates for itself: the strands store different values or change different rows, and a write replayed to a strand later those of its replay time. Pass values as parameters (a time or a Guid.CreateVersion7() key from the application, or @helix_ts) and choose rows by key or ORDER BY a unique key; 'Nondeterministic Writes=Refuse' refuses such writes, 'Allow' runs them without this warning. Logged once per statement: {CommandText}")]
    public static partial void NondeterministicWrite(ILogger logger, string call, string commandText);

    [LoggerMessage(EventIds.LastGeneratedKeyRead, LogLevel.Warning, "A read of {Call} returns the key the strand it ran on generated, and the other strand may hold the row under another key: nothing compares them. Return the key from the write itself (INSERT ... RETURNING, OUTPUT), which Helix compares on both strands, or make it in the application (Guid.CreateVersion7()); 'Nondeterministic Writes=Allow' runs such reads without this warning. Logged once per statement: {CommandText}")]
    public static partial void LastGeneratedKeyRead(ILogger logger, string call, string commandText);

    [LoggerMessage(EventIds.WriteRejected, LogLevel.Warning, "Write rejected before execution: {Reason}")]
    public static partial void WriteRejected(ILogger logger, string reason);

    [LoggerMessage(EventIds.ReplayHookFailed, LogLevel.Warning, "The {Hook} hook threw for strand {Strand}; the replay goes on as if it had returned")]
    public static partial void ReplayHookFailed(ILogger logger, Exception exception, string hook, string strand);

    [LoggerMessage(EventIds.CallbackFailed, LogLevel.Warning, "The OnDivergence callback threw while it was told of a {Kind} divergence on strand {Strand}; Helix goes on, the divergence stands")]
    public static partial void CallbackFailed(ILogger logger, Exception exception, HelixDivergenceKind kind, string strand);

    [LoggerMessage(EventIds.RollbackFailed, LogLevel.Warning, "Rolling back strand {Strand}'s part of a transaction failed; its server rolls it back when the session ends")]
    public static partial void RollbackFailed(ILogger logger, Exception exception, string strand);

    [LoggerMessage(EventIds.AmbientRolledBackAfterCommit, LogLevel.Error, "An ambient transaction (a TransactionScope) that another resource shared rolled back after Helix had committed its part in the first phase; the strands keep what it wrote")]
    public static partial void AmbientRolledBackAfterCommit(ILogger logger);

    [LoggerMessage(EventIds.TypesNotReloaded, LogLevel.Warning, "Strand {Strand} could not load its types again after a schema change changed them; commands that use a new type fail on it until its connections load them (a restart of the application does)")]
    public static partial void TypesNotReloaded(ILogger logger, Exception exception, string strand);

    [LoggerMessage(EventIds.StrandSourceNotUsed, LogLevel.Warning, "{Context} configures its EF Core provider's types otherwise than an earlier context on this Helix data source: strand {Strand} keeps making its connections from the data source the earlier one's provider built, so types only {Context} maps (enums, plugins) fail on it. Give the contexts the same provider options, or each its own Helix data source")]
    public static partial void StrandSourceNotUsed(ILogger logger, string context, string strand);

    [LoggerMessage(EventIds.ReadFailover, LogLevel.Warning, "Read failed on strand {From} with a strand fault; trying strand {To}: {Error}")]
    public static partial void ReadFailover(ILogger logger, string from, string to, string error);

    [LoggerMessage(EventIds.StrandRetry, LogLevel.Information, "Strand {Strand} met a strand fault; retry {Attempt} of {Retries} on the same strand in {DelayMs:0} ms: {Error}")]
    public static partial void StrandRetry(ILogger logger, string strand, int attempt, int retries, double delayMs, string error);

    [LoggerMessage(EventIds.HedgeStarted, LogLevel.Debug, "A read on strand {Strand} had no answer after {DelayMs:0.#} ms; hedged on strand {Other}")]
    public static partial void ReadHedged(ILogger logger, string strand, double delayMs, string other);

    [LoggerMessage(EventIds.StaleRead, LogLevel.Warning, "No healthy strand can serve a read; reading from strand {Strand}, which is {State} and may lag behind")]
    public static partial void StaleRead(ILogger logger, string strand, HelixStrandState state);

    [LoggerMessage(EventIds.ReplayApplied, LogLevel.Debug, "Replayed {Count} entries to strand {Strand}; {Backlog} left")]
    public static partial void ReplayApplied(ILogger logger, int count, string strand, long backlog);

    [LoggerMessage(EventIds.ReplayStatementError, LogLevel.Warning, "Replay entry {EntryId} failed on strand {Strand} with a statement error (attempt {Attempt} of {MaxAttempts}): {Error}")]
    public static partial void ReplayStatementError(ILogger logger, Guid entryId, string strand, int attempt, int maxAttempts, string error);

    [LoggerMessage(EventIds.ReplayDeadLettered, LogLevel.Error, "Replay entry {EntryId} for strand {Strand} dead-lettered: {Reason}")]
    public static partial void ReplayDeadLettered(ILogger logger, Guid entryId, string strand, string reason);

    [LoggerMessage(EventIds.ReplayProbeFailed, LogLevel.Debug, "Strand {Strand} is still unreachable; next attempt in {Delay}: {Error}")]
    public static partial void ReplayProbeFailed(ILogger logger, string strand, TimeSpan delay, string error);

    [LoggerMessage(EventIds.ReplayQueueUnavailable, LogLevel.Error, "The replay queue cannot be initialized; next attempt in {Delay}: {Error}")]
    public static partial void ReplayQueueUnavailable(ILogger logger, TimeSpan delay, string error);

    [LoggerMessage(EventIds.IntentNotForgotten, LogLevel.Warning, "Intent {IntentId} could not be forgotten; the worker will promote it after the in-doubt timeout and every strand applies that write again: {Error}")]
    public static partial void IntentNotForgotten(ILogger logger, Guid intentId, string error);

    [LoggerMessage(EventIds.IntentsPromoted, LogLevel.Warning, "Promoted {Count} abandoned intents: writes a process left in doubt when it ended are brought to every strand")]
    public static partial void IntentsPromoted(ILogger logger, int count);

    [LoggerMessage(EventIds.ReplayWorkerError, LogLevel.Error, "The replay worker of strand {Strand} hit an unexpected error and continues after a delay")]
    public static partial void ReplayWorkerError(ILogger logger, Exception exception, string strand);
}
