using System.Data;
using System.Data.Common;
using System.Runtime.ExceptionServices;
using Helix.Data.Internal;
using Helix.Data.Strategies;

namespace Helix.Data;

/// <content>Commands inside the transaction, savepoints and commit.</content>
public sealed partial class HelixTransaction
{
    private enum SavepointOperation
    {
        Save,
        Rollback,
        Release,
    }

    /// <summary>Runs a command of the connection inside this transaction.</summary>
    internal async ValueTask<object?> ExecuteAsync(HelixCommand command, HelixCommand.Operation operation, CommandBehavior behavior, SqlTextInfo text, bool isWrite, IOBehavior io, CancellationToken cancellationToken)
    {
        ThrowIfUnusable();
        if (_dataSource.IsSingleStrand)
        {
            return await ExecuteSingleAsync(command, operation, behavior, text, isWrite, io, cancellationToken).ConfigureAwait(false);
        }

        return isWrite
            ? await WriteAsync(command, operation, behavior, text, io, cancellationToken).ConfigureAwait(false)
            : await ReadAsync(command, operation, behavior, text, io, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<object?> ReadAsync(HelixCommand command, HelixCommand.Operation operation, CommandBehavior behavior, SqlTextInfo text, IOBehavior io, CancellationToken cancellationToken)
    {
        var timestamp = text.TimestampParameter is null ? 0 : _dataSource.Timestamps.Next();
        Exception? lastFault = null;
        while (PickReadSide() is { } side)
        {
            var inner = await EnsureActiveAsync(side, io, cancellationToken).ConfigureAwait(false);
            if (inner is null)
            {
                lastFault = side.Error;
                continue;
            }

            var result = await command.RunOnStrandAsync(_connection, side.Strand, operation, behavior, true, text, timestamp, Enlist(command, side), io, cancellationToken).ConfigureAwait(false);
            if (result.Succeeded || result.Cancelled || result.Kind == HelixErrorKind.StatementError)
            {
                return command.Finish(result);
            }

            // The side's connection is gone either way; the failover policy decides whether the read moves on.
            var policy = _dataSource.Reads!.Policy;
            policy.RecordFailure(side.Strand.Id, result.Error!);
            if (!policy.ShouldFailover(side.Strand.Id, result.Error!))
            {
                return command.Finish(result);
            }

            lastFault = result.Error;
            await LoseAsync(side, result.Error!, isFault: true, io).ConfigureAwait(false);
        }

        throw new HelixException("No strand in this transaction can serve the read: the strands it ran on failed, and the others miss its writes.", lastFault);
    }

    /// <summary>
    /// The inner transaction for the inner command, as the provider would give it: when the caller set the command's
    /// transaction; and for a command the connection created during this transaction whose transaction nobody set, when
    /// the provider's own new commands join the open transaction (SQLite's do). Otherwise none, so that each provider
    /// answers a command that omits it as it would without Helix (SQLite refuses it, Npgsql runs it in the transaction).
    /// </summary>
    private DbTransaction? Enlist(HelixCommand command, Side side) =>
        command.Transaction is not null ? side.Inner
        : command.CreatedIn == this && side.Inner?.Connection is { } open && side.Strand.NewCommandsJoinTransaction(open) ? side.Inner
        : null;

    /// <summary>A strand to read from: one that runs the transaction already, else a healthy one it has not touched.</summary>
    private Side? PickReadSide()
    {
        var preferred = _dataSource.Reads!.Peek();
        return _sides.FirstOrDefault(s => s.Mode == Mode.Active && s.Strand == preferred)
            ?? _sides.FirstOrDefault(s => s.Mode == Mode.Active)
            ?? (_recorded.Count > 0 ? null : _sides.FirstOrDefault(s => s.Mode == Mode.Untouched && s.Strand == preferred)
                ?? _sides.FirstOrDefault(s => s.Mode == Mode.Untouched && s.Strand.IsHealthy));
    }

    private async ValueTask<object?> WriteAsync(HelixCommand command, HelixCommand.Operation operation, CommandBehavior behavior, SqlTextInfo text, IOBehavior io, CancellationToken cancellationToken)
    {
        command.ThrowIfQueueCannotStore(_dataSource);
        var timestamp = _dataSource.Timestamps.Next();
        if (_timestamp == 0)
        {
            _timestamp = timestamp;
        }

        foreach (var side in _sides.Where(s => s.Mode == Mode.Untouched))
        {
            if (side.Strand.IsHealthy)
            {
                await EnsureActiveAsync(side, io, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                side.Mode = Mode.Recording;
                side.Error = new HelixException($"Strand {side.Strand.Name} was {side.Strand.State} when the transaction first wrote; it gets the transaction by replay.");
            }
        }

        var active = _sides.Where(s => s.Mode == Mode.Active).ToList();
        if (active.Count == 0)
        {
            throw Break(new HelixException("No strand can take this transaction's writes: every strand it could run on failed. Roll the transaction back and retry."));
        }

        var results = new HelixCommand.StrandResult[active.Count];
        var order = _dataSource.Configuration.WriteStrategy.GetOrder(_dataSource.StrandView!);
        if (io == IOBehavior.Asynchronous && order == HelixWriteOrder.Concurrent && active.Count > 1)
        {
#pragma warning disable CA2012 // each ValueTask is awaited exactly once, below
            var running = active.Select((s, i) => command.RunOnStrandAsync(_connection, s.Strand, operation, behavior, i == 0, text, timestamp, Enlist(command, s), io, cancellationToken)).ToArray();
            for (var i = 0; i < running.Length; i++)
            {
                results[i] = await running[i].ConfigureAwait(false);
            }
#pragma warning restore CA2012
        }
        else
        {
            for (var n = 0; n < active.Count; n++)
            {
                var i = order == HelixWriteOrder.SecondaryFirst ? active.Count - 1 - n : n;
                results[i] = await command.RunOnStrandAsync(_connection, active[i].Strand, operation, behavior, i == 0, text, timestamp, Enlist(command, active[i]), io, cancellationToken).ConfigureAwait(false);
            }
        }

        var winner = Array.FindIndex(results, r => r.Succeeded);
        if (winner < 0)
        {
            return await NoStrandAppliedAsync(active, results, io).ConfigureAwait(false);
        }

        for (var i = 0; i < active.Count; i++)
        {
            if (i == winner)
            {
                continue;
            }

            var result = results[i];
            if (result.Succeeded)
            {
                var (_, drainError) = await command.SettleOtherResultAsync(result, io).ConfigureAwait(false);
                if (drainError is not null)
                {
                    await LoseAsync(active[i], drainError, isFault: true, io).ConfigureAwait(false);
                }
            }
            else if (result.Kind == HelixErrorKind.StatementError && !result.Cancelled)
            {
                await RefuseAsync(active[i], result.Error!, io).ConfigureAwait(false);
            }
            else
            {
                await LoseAsync(active[i], result.Error!, isFault: !result.Cancelled, io).ConfigureAwait(false);
            }
        }

        _recorded.AddRange(command.Record(text, timestamp, _dataSource.Strands, _dataSource.Strands.Length));
        return command.Finish(results[winner], isRead: false);
    }

    private async ValueTask<object?> NoStrandAppliedAsync(List<Side> active, HelixCommand.StrandResult[] results, IOBehavior io)
    {
        for (var i = 0; i < active.Count; i++)
        {
            if (!results[i].Cancelled && results[i].Kind == HelixErrorKind.StrandFault)
            {
                await LoseAsync(active[i], results[i].Error!, isFault: true, io).ConfigureAwait(false);
            }
        }

        // The strands that answered refused the statement: the caller sees the provider's exception, and decides.
        foreach (var result in results)
        {
            if (result.Cancelled || result.Kind == HelixErrorKind.StatementError)
            {
                ExceptionDispatchInfo.Capture(result.Error!).Throw();
            }
        }

        throw Break(new HelixException(
            "The write failed with strand faults on every strand of the transaction; the transaction cannot go on. Roll it back and retry.",
            results.FirstOrDefault(r => r.Strand.Id == HelixStrand.Primary).Error,
            results.FirstOrDefault(r => r.Strand.Id == HelixStrand.Secondary).Error,
            isTransient: true));
    }

    /// <summary>Starts the inner transaction of a strand; on a fault the strand leaves the transaction and null is returned.</summary>
    private async ValueTask<DbTransaction?> EnsureActiveAsync(Side side, IOBehavior io, CancellationToken cancellationToken)
    {
        if (side.Mode == Mode.Active)
        {
            return side.Inner;
        }

        try
        {
            return await BeginOnAsync(side, io, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (CallerCancellation.Is(e, cancellationToken))
        {
            throw;
        }
        catch (Exception e) when (_dataSource.Classifier.Classify(e) == HelixErrorKind.StrandFault)
        {
            await LoseAsync(side, e, isFault: true, io).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Begins the inner transaction of a strand, with the savepoints the transaction has so far; errors reach the caller.</summary>
    private async ValueTask<DbTransaction> BeginOnAsync(Side side, IOBehavior io, CancellationToken cancellationToken)
    {
        var connection = await _connection.GetInnerAsync(side.Strand, io, cancellationToken).ConfigureAwait(false);
        var inner = io == IOBehavior.Synchronous
            ? connection.BeginTransaction(IsolationLevel)
            : await connection.BeginTransactionAsync(IsolationLevel, cancellationToken).ConfigureAwait(false);
        side.Inner = inner;
        side.Mode = Mode.Active;

        // A strand that joins late gets the savepoints the others have, so rolling back to one works everywhere.
        foreach (var (name, _) in _savepoints)
        {
            await SavepointOnAsync(inner, SavepointOperation.Save, name, io, cancellationToken).ConfigureAwait(false);
        }

        return inner;
    }

    /// <summary>A strand faulted inside the transaction: its side is rolled back and it gets the transaction by replay.</summary>
    private async ValueTask LoseAsync(Side side, Exception error, bool isFault, IOBehavior io)
    {
        side.Mode = Mode.Recording;
        side.Error = error;
        if (side.Inner is { } inner)
        {
            side.Inner = null;
            await RollbackQuietlyAsync(side, inner, io).ConfigureAwait(false);
        }

        if (isFault)
        {
            side.Strand.Controller.ReportFault(error);
            _dataSource.Reads?.StrandFailed(side.Strand);
            _connection.Discard(side.Strand);
        }
    }

    /// <summary>A strand refused a write another strand applied: its side is rolled back; if the transaction commits, it is a divergence.</summary>
    private async ValueTask RefuseAsync(Side side, Exception error, IOBehavior io)
    {
        side.Mode = Mode.Refused;
        side.Error = error;
        side.RefusedAt = _recorded.Count;
        if (side.Inner is { } inner)
        {
            side.Inner = null;
            await RollbackQuietlyAsync(side, inner, io).ConfigureAwait(false);
        }
    }

    private HelixException Break(HelixException error)
    {
        _broken = error;
        return error;
    }

    private async ValueTask SavepointAsync(SavepointOperation operation, string name, IOBehavior io, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ThrowIfUnusable();
        var index = _savepoints.FindLastIndex(s => s.Name == name);
        if (operation != SavepointOperation.Save && index < 0)
        {
            throw new InvalidOperationException($"No savepoint named '{name}' exists in this transaction.");
        }

        foreach (var side in _sides.Where(s => s.Mode == Mode.Active).ToList())
        {
            try
            {
                await SavepointOnAsync(side.Inner!, operation, name, io, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException && !_dataSource.IsSingleStrand && _dataSource.Classifier.Classify(e) == HelixErrorKind.StrandFault)
            {
                await LoseAsync(side, e, isFault: true, io).ConfigureAwait(false);
            }
        }

        if (!_sides.Any(s => s.Mode == Mode.Active) && _recorded.Count > 0)
        {
            throw Break(new HelixException("Every strand of the transaction failed; roll it back and retry."));
        }

        switch (operation)
        {
            case SavepointOperation.Save:
                _savepoints.Add((name, _recorded.Count));
                break;
            case SavepointOperation.Rollback:
                var position = _savepoints[index].Position;
                _recorded.RemoveRange(position, _recorded.Count - position);
                _savepoints.RemoveRange(index + 1, _savepoints.Count - index - 1);
                foreach (var side in _sides.Where(s => s.Mode == Mode.Refused && s.RefusedAt >= position))
                {
                    side.Mode = Mode.Recording; // the refused write is undone: the strand just misses the rest
                }

                break;
            case SavepointOperation.Release:
                _savepoints.RemoveRange(index, _savepoints.Count - index);
                break;
        }
    }

    private static async ValueTask SavepointOnAsync(DbTransaction inner, SavepointOperation operation, string name, IOBehavior io, CancellationToken cancellationToken)
    {
        switch (operation, io)
        {
            case (SavepointOperation.Save, IOBehavior.Synchronous):
                inner.Save(name);
                break;
            case (SavepointOperation.Save, _):
                await inner.SaveAsync(name, cancellationToken).ConfigureAwait(false);
                break;
            case (SavepointOperation.Rollback, IOBehavior.Synchronous):
                inner.Rollback(name);
                break;
            case (SavepointOperation.Rollback, _):
                await inner.RollbackAsync(name, cancellationToken).ConfigureAwait(false);
                break;
            case (SavepointOperation.Release, IOBehavior.Synchronous):
                inner.Release(name);
                break;
            default:
                await inner.ReleaseAsync(name, cancellationToken).ConfigureAwait(false);
                break;
        }
    }
}
