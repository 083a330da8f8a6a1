using System.Data.Common;

namespace Helix.Data.Internal.Execution;

/// <content>
/// The strands' sides of the transaction: joining it at its first write, beginning the inner transaction (with the
/// savepoints taken so far), and leaving it on a fault (replayed later) or a refusal (a divergence if it commits).
/// </content>
internal sealed partial class StrandTransactions
{
    /// <summary>
    /// The sides a write runs on: each strand the transaction has not touched yet joins it if healthy, else gets the
    /// transaction by replay. A transaction that has touched no strand yet and finds none healthy waits for one within the
    /// command timeout, as a write outside a transaction does (after a fault both strands met at once, until the worker's
    /// probe brings one back). Throws when no strand is left to take the write.
    /// </summary>
    private async ValueTask<List<Side>> JoinForWriteAsync(Execution execution)
    {
        var (io, cancellationToken) = (execution.Io, execution.CancellationToken);
        if (_sides.All(s => s.Mode == Mode.Untouched && !s.Strand.IsHealthy))
        {
            var routes = await WriteRouting.RouteAsync(_dataSource, WriteRouting.TimeoutOf(execution.Statement.CommandTimeout), io, cancellationToken).ConfigureAwait(false);
            WriteRouting.EndReservations(_dataSource.Strands, routes);
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
        return active.Count > 0
            ? active
            : throw Break(EveryStrandFailed("No strand can take this transaction's writes: every strand it could run on failed. Roll the transaction back and retry."));
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
        var connection = await _connection!.GetInnerAsync(side.Strand, io, cancellationToken).ConfigureAwait(false);
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
            _connection?.Discard(side.Strand);
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
}
