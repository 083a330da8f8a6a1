using Helix.Data.Logging;
using Helix.Data.Replay;

namespace Helix.Data.Internal.Replay;

/// <summary>
/// Applies a batch of a strand's backlog and settles each entry with the queue: completed when applied, given back when
/// the strand faulted (a fault never counts as an attempt), counted when refused, dead-lettered after the last attempt.
/// </summary>
internal sealed class ReplayApplier(ReplayEnvironment environment)
{
    private HelixReplayQueue Queue => environment.Queue!;

    /// <summary>
    /// Applies a batch in order: all in one transaction (one DbBatch round trip where the provider batches), or, when a
    /// statement in it fails, one by one to find the entry that fails. Returns a delay when the worker must stop and
    /// wait (a strand fault, or an entry to retry); the entries not applied are given back to the queue.
    /// </summary>
    public async Task<TimeSpan?> ApplyBatchAsync(ReplaySession session, IReadOnlyList<HelixReplayEntry> batch, Backoff backoff, CancellationToken stopping)
    {
        var strand = session.Strand;
        if (batch.Count > 1 && !batch.Any(SetsTransactionLocal))
        {
            var started = environment.TimeProvider.GetTimestamp();
            var error = await ReplayStatements.ApplyAsync(session, batch, transaction: true, environment.Logger, stopping).ConfigureAwait(false);
            if (error is null)
            {
                await Queue.CompleteAsync(batch, stopping).ConfigureAwait(false);
                RecordApplied(strand, batch, environment.TimeProvider.GetElapsedTime(started), backoff);
                return null;
            }

            if (environment.Classifier.Classify(error) == HelixErrorKind.StrandFault)
            {
                await Queue.ReleaseAsync(batch, stopping).ConfigureAwait(false);
                Failed(strand, batch, started, error, isStrandFault: true);
                return Retry(strand, backoff, error);
            }
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (strand.State is HelixStrandState.Draining or HelixStrandState.OutOfSync)
            {
                await Queue.ReleaseAsync([.. batch.Skip(i)], stopping).ConfigureAwait(false);
                return null;
            }

            if (await ApplyOneAsync(session, batch, i, backoff, stopping).ConfigureAwait(false) is { } delay)
            {
                return delay;
            }
        }

        return null;
    }

    /// <summary>
    /// Whether the entry sets something for the rest of its transaction (<c>SET LOCAL</c>, <c>set_config(..., true)</c>):
    /// in the batch's shared transaction it would hold for the entries after it, so such a batch is applied entry by
    /// entry, each in a transaction of its own (contract amendment 43).
    /// </summary>
    private static bool SetsTransactionLocal(HelixReplayEntry entry) =>
        entry.Statements.Any(static s => s.CommandType == System.Data.CommandType.Text && SqlClassifier.Analyze(s.CommandText).SetsTransactionLocal);

    /// <summary>The strand faulted: it is Failed, and the next try waits for the backoff.</summary>
    public TimeSpan Retry(Strand strand, Backoff backoff, Exception fault)
    {
        strand.Controller.ReportFault(fault);
        var delay = backoff.Next();
        Log.ReplayProbeFailed(environment.Logger, strand.Name, delay, fault.Message);
        return delay;
    }

    /// <summary>Applies <c>batch[index]</c> alone; returns a delay when the worker must stop (the rest is given back).</summary>
    private async Task<TimeSpan?> ApplyOneAsync(ReplaySession session, IReadOnlyList<HelixReplayEntry> batch, int index, Backoff backoff, CancellationToken stopping)
    {
        var (strand, entry, options) = (session.Strand, batch[index], environment.Options);
        var started = environment.TimeProvider.GetTimestamp();
        var error = await ReplayStatements.ApplyAsync(session, [entry], entry.IsTransaction || entry.Statements.Count > 1, environment.Logger, stopping).ConfigureAwait(false);
        if (error is null)
        {
            await Queue.CompleteAsync(entry, stopping).ConfigureAwait(false);
            RecordApplied(strand, [entry], environment.TimeProvider.GetElapsedTime(started), backoff);
            return null;
        }

        if (environment.Classifier.Classify(error) == HelixErrorKind.StrandFault)
        {
            var givenBack = batch.Skip(index).ToList();
            await Queue.ReleaseAsync(givenBack, stopping).ConfigureAwait(false);
            Failed(strand, givenBack, started, error, isStrandFault: true);
            return Retry(strand, backoff, error);
        }

        entry.Attempts++;
        HelixMetrics.ReplayFailed.Add(1, strand.MetricTags);
        Log.ReplayStatementError(environment.Logger, entry.Id, strand.Name, entry.Attempts, options.MaxAttempts, error.Message);
        strand.Controller.ReportReachable(); // the strand answered: it is reachable
        Failed(strand, [entry], started, error, isStrandFault: false);
        if (entry.Attempts < options.MaxAttempts)
        {
            // The entry may depend on something not there yet: it is tried again after the backoff, in its place.
            await Queue.ReleaseAsync([.. batch.Skip(index)], stopping).ConfigureAwait(false);
            return backoff.Next();
        }

        var reason = $"failed {entry.Attempts} times with a statement error; last: {error.GetType().Name}: {error.Message}";
        await Queue.DeadLetterAsync(entry, reason, stopping).ConfigureAwait(false);
        environment.Reporter.DeadLettered(strand, entry, reason);
        environment.Hooks.OnDeadLettered(environment.Logger, strand, entry, environment.TimeProvider.GetElapsedTime(started), error, reason);
        return null;
    }

    private void Failed(Strand strand, IReadOnlyList<HelixReplayEntry> entries, long started, Exception error, bool isStrandFault) =>
        environment.Hooks.OnFailed(environment.Logger, strand, entries, environment.TimeProvider.GetElapsedTime(started), error, isStrandFault);

    private void RecordApplied(Strand strand, IReadOnlyList<HelixReplayEntry> entries, TimeSpan elapsed, Backoff backoff)
    {
        var count = entries.Count;
        environment.Hooks.OnReplayed(environment.Logger, strand, entries, elapsed);
        environment.CountApplied(count);
        HelixMetrics.ReplayApplied.Add(count, strand.MetricTags);
        HelixMetrics.ReplayDuration.Record(elapsed.TotalSeconds, strand.MetricTags);
        environment.WriteStrategy.OnReplayApplied(strand.Id, count, elapsed, environment.Control);
        strand.Controller.ReportReachable();
        backoff.Reset();
        var rate = strand.Controller.ReportApplied(count, elapsed);
        var backlog = Queue.GetBacklog(strand.Id);
        Log.ReplayApplied(environment.Logger, count, strand.Name, backlog);

        // Once the rest of the backlog takes less than half the healing wait to apply, new writes wait for the strand
        // instead of joining the backlog, and it heals.
        if (backlog <= Math.Max(environment.Options.BatchSize, rate * environment.Options.HealingWait.TotalSeconds / 2))
        {
            strand.Controller.BeginHealing();
        }
    }
}
