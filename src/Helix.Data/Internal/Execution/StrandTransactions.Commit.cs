using System.Runtime.ExceptionServices;
using Helix.Data.Strategies;
using Helix.Data.Replay;

namespace Helix.Data.Internal.Execution;

/// <content>Commit: route the transaction like one write, commit where it runs, replay it where it does not.</content>
internal sealed partial class StrandTransactions
{
    public async ValueTask CommitAsync(IOBehavior io, CancellationToken cancellationToken)
    {
        ThrowIfUnusable();
        ThrowIfCannotCommit();
        if (_dataSource.IsSingleStrand)
        {
            await CommitSingleAsync(io, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_recorded.Count == 0)
        {
            await CommitReadsAsync(io, cancellationToken).ConfigureAwait(false);
            return;
        }

        // The commit is the moment the transaction is acknowledged: route it as one write, so that it is applied on
        // each strand after every write acknowledged before it.
        WriteRoute[] routes;
        try
        {
            routes = await WriteRouting.RouteAsync(_dataSource, WriteRouting.TimeoutOf(HelixDefaults.CommandTimeoutSeconds), io, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await RollbackAsync(io).ConfigureAwait(false);
            throw;
        }

        if (_changesSchema && _sides.FirstOrDefault(s => s.Mode != Mode.Active || routes[s.Strand.Index] != WriteRoute.Direct) is { } behind)
        {
            // A strand fell behind (or left) since the schema change ran: it would get it by replay.
            WriteRouting.EndReservations(_dataSource.Strands, routes);
            await RollbackAsync(io).ConfigureAwait(false);
            throw SchemaChangeMissed(behind.Strand, behind.Error?.Message ?? "it fell behind before the commit: its writes go through replay", behind.Error);
        }

        // While a strand is behind, a durable queue first records the whole transaction for every strand (see
        // HelixReplayQueue.RecordIntentAsync): a process that dies during the commit cannot leave the strands different.
        Guid? intent = null;
        if (_dataSource.Configuration.ReplayQueue is { SupportsIntents: true }
            && _sides.Any(s => s.Mode != Mode.Active || routes[s.Strand.Index] != WriteRoute.Direct))
        {
            try
            {
                intent = await WriteRouting.RecordIntentAsync(_dataSource, [.. _sides.Select(s => RecordedStatement.Entry(_dataSource, s.Strand, _timestamp, _recorded, isTransaction: true, error: null))], io).ConfigureAwait(false);
            }
            catch
            {
                WriteRouting.EndReservations(_dataSource.Strands, routes);
                await RollbackAsync(io).ConfigureAwait(false);
                throw;
            }
        }

        try
        {
            await CommitRoutedAsync(routes, io, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await WriteRouting.ForgetIntentAsync(_dataSource, intent, io).ConfigureAwait(false);
        }
    }

    private async ValueTask CommitRoutedAsync(WriteRoute[] routes, IOBehavior io, CancellationToken cancellationToken)
    {
        var committing = new List<Side>();
        foreach (var side in _sides)
        {
            if (side.Mode == Mode.Active && routes[side.Strand.Index] == WriteRoute.Direct)
            {
                committing.Add(side);
            }
            else if (side.Mode == Mode.Active)
            {
                // The strand fell behind during the transaction: committing here would overtake its backlog.
                await LoseAsync(side, new HelixException($"Strand {side.Strand.Name} fell behind before the commit; it gets the transaction by replay."), isFault: false, io).ConfigureAwait(false);
            }
        }

        var errors = await CommitSidesAsync(committing, io, cancellationToken).ConfigureAwait(false);
        var inDoubt = errors.Length > 0 && errors.All(e => e is not null && !CallerCancellation.Is(e, cancellationToken) && _dataSource.Classifier.Classify(e) == HelixErrorKind.StrandFault);
        if (errors.All(e => e is not null) && !inDoubt)
        {
            WriteRouting.EndReservations(_dataSource.Strands, routes);
            await CommitFailedAsync(committing, errors, io, cancellationToken).ConfigureAwait(false);
            return;
        }

        MarkFailedCommits(committing, errors);
        foreach (var side in _sides.Where(s => s.Mode is Mode.Recording or Mode.Refused))
        {
            await SettleAsync(side, routes[side.Strand.Index], committing.Contains(side), io).ConfigureAwait(false);
        }

        Complete();
        if (inDoubt)
        {
            // Every commit was sent and lost its connection: any strand may have committed. Each got the transaction by
            // replay (above), so that they agree; the caller learns that the outcome is unknown.
            throw OutcomeUnknown(committing, errors);
        }

        HelixMetrics.Writes.Add(1, committing.First(s => s.Mode == Mode.Active).Strand.MetricTags);
    }

    /// <summary>A strand whose commit failed gets the transaction as a dead letter (it refused) or by replay (it faulted).</summary>
    private void MarkFailedCommits(List<Side> committing, Exception?[] errors)
    {
        for (var i = 0; i < committing.Count; i++)
        {
            if (errors[i] is { } error)
            {
                if (_dataSource.Classifier.Classify(error) == HelixErrorKind.StatementError)
                {
                    committing[i].Mode = Mode.Refused;
                }
                else
                {
                    committing[i].Mode = Mode.Recording;
                    _connection?.Discard(committing[i].Strand);
                }

                committing[i].Error = error;
            }
        }
    }

    private static HelixException OutcomeUnknown(List<Side> committing, Exception?[] errors) => new(
        "The transaction's outcome is unknown: every strand's connection was lost during the commit, so it may have committed. It is replayed on every strand so that they agree; retry it only if it is idempotent. "
            + string.Join(" ", committing.Select((s, i) => $"{s.Strand.Name}: {errors[i]!.Message}")),
        ErrorOf(committing, errors, HelixStrand.Primary),
        ErrorOf(committing, errors, HelixStrand.Secondary),
        isTransient: true)
    {
        IsOutcomeUnknown = true,
    };

    private static Exception? ErrorOf(List<Side> committing, Exception?[] errors, HelixStrand strand) =>
        committing.FindIndex(s => s.Strand.Id == strand) is var i and >= 0 ? errors[i] : null;

    /// <summary>Brings the committed transaction to a strand that did not commit it.</summary>
    private ValueTask SettleAsync(Side side, WriteRoute route, bool commitFailed, IOBehavior io)
    {
        HelixReplayEntry Entry(Exception? error) => RecordedStatement.Entry(_dataSource, side.Strand, _timestamp, _recorded, isTransaction: true, error);
        var text = _recorded[0].CommandText;
        if (side.Mode == Mode.Refused)
        {
            WriteRouting.EndReservations(side.Strand, route);

            return WriteRouting.RefusedAsync(_dataSource, side.Strand, Entry(side.Error), text, side.Error!, io);
        }

        if (route == WriteRoute.Direct)
        {
            // Healthy, but it did not commit the transaction: its commit faulted, or it left the transaction earlier.
            return WriteRouting.MissedAsync(_dataSource, side.Strand, e => Entry(e), text, side.Error ?? new HelixException("The strand left the transaction."), isFault: commitFailed, io);
        }

        return WriteRouting.SettleAsync(_dataSource, side.Strand, route, () => Entry(side.Error), text, io);
    }

    private async ValueTask<Exception?[]> CommitSidesAsync(List<Side> committing, IOBehavior io, CancellationToken cancellationToken)
    {
        var errors = new Exception?[committing.Count];
        var order = _connection?.OrderForOpenReader ?? _dataSource.Configuration.WriteStrategy.GetOrder(_dataSource.StrandView!);
        if (io == IOBehavior.Asynchronous && order == HelixWriteOrder.Concurrent && committing.Count > 1)
        {
            var running = committing.Select(s => CommitSideAsync(s, io, cancellationToken).AsTask()).ToArray();
            for (var i = 0; i < running.Length; i++)
            {
                errors[i] = await running[i].ConfigureAwait(false);
            }
        }
        else
        {
            Exception? refused = null;
            for (var n = 0; n < committing.Count; n++)
            {
                var i = WriteFanOut.Turn(order, n, committing.Count);
                errors[i] = refused ?? await CommitSideAsync(committing[i], io, cancellationToken).ConfigureAwait(false);
                if (errors[i] is { } error && HelixErrorClassifier.RefusedBeforeSending(error))
                {
                    // Its provider refused the commit before sending it (a reader still open on its connection: contract
                    // amendment 38): no strand commits, and the transaction is rolled back on all (CommitFailedAsync).
                    refused ??= error;
                }
            }
        }

        return errors;
    }

    private async ValueTask<Exception?> CommitSideAsync(Side side, IOBehavior io, CancellationToken cancellationToken)
    {
        var inner = side.Inner!;
        try
        {
            if (io == IOBehavior.Synchronous)
            {
                inner.Commit();
            }
            else
            {
                await inner.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            KeepsConnection |= inner.Connection is not null;
            side.Strand.NoteTransactionCompleted(inner);
            return null;
        }
#pragma warning disable CA1031 // every strand's outcome is sorted out by the caller
        catch (Exception e)
#pragma warning restore CA1031
        {
            return e;
        }
        finally
        {
            side.Inner = null;
            await DisposeInnerAsync(inner, io).ConfigureAwait(false);
        }
    }

    /// <summary>No strand committed: nothing to replay; the caller gets the refusal unchanged, or a HelixException.</summary>
    private async ValueTask CommitFailedAsync(List<Side> committing, Exception?[] errors, IOBehavior io, CancellationToken cancellationToken)
    {
        for (var i = 0; i < committing.Count; i++)
        {
            if (!CallerCancellation.Is(errors[i]!, cancellationToken) && _dataSource.Classifier.Classify(errors[i]!) == HelixErrorKind.StrandFault)
            {
                committing[i].Strand.Controller.ReportFault(errors[i]!);
                _connection?.Discard(committing[i].Strand);
            }
        }

        await RollbackRestAsync(io).ConfigureAwait(false);
        Complete();
        foreach (var error in errors)
        {
            if (CallerCancellation.Is(error!, cancellationToken) || _dataSource.Classifier.Classify(error!) == HelixErrorKind.StatementError)
            {
                ExceptionDispatchInfo.Capture(error!).Throw();
            }
        }

        throw new HelixException(
            "The transaction committed on no strand: " + string.Join(" ", committing.Select((s, i) => $"{s.Strand.Name}: {errors[i]!.Message}")),
            ErrorOf(committing, errors, HelixStrand.Primary),
            ErrorOf(committing, errors, HelixStrand.Secondary),
            isTransient: true);
    }

    private async ValueTask RollbackRestAsync(IOBehavior io)
    {
        foreach (var side in _sides.Where(s => s.Inner is not null))
        {
            var inner = side.Inner!;
            side.Inner = null;
            await RollbackQuietlyAsync(side, inner, io).ConfigureAwait(false);
        }
    }

    /// <summary>A transaction that only read: commit where it ran; a strand that fails here loses nothing.</summary>
    private async ValueTask CommitReadsAsync(IOBehavior io, CancellationToken cancellationToken)
    {
        var active = _sides.Where(s => s.Inner is not null).ToList();
        var errors = await CommitSidesAsync(active, io, cancellationToken).ConfigureAwait(false);
        Complete();
        if (errors.FirstOrDefault(e => e is not null && _dataSource.Classifier.Classify(e) == HelixErrorKind.StatementError) is { } refusal)
        {
            ExceptionDispatchInfo.Capture(refusal).Throw();
        }
    }
}
