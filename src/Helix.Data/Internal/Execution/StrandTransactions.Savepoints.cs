using System.Data.Common;
using Helix.Data.Strategies;

namespace Helix.Data.Internal.Execution;

/// <content>Savepoints: kept on every strand the transaction runs on, and replayed with it on the others.</content>
internal sealed partial class StrandTransactions
{
    public async ValueTask SavepointAsync(SavepointOperation operation, string name, IOBehavior io, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ThrowIfUnusable();
        var index = _savepoints.FindLastIndex(s => s.Name == name);
        if (operation != SavepointOperation.Save && index < 0)
        {
            throw new InvalidOperationException($"No savepoint named '{name}' exists in this transaction.");
        }

        // With a reader of the connection open on the secondary, the secondary first: a provider that refuses the
        // savepoint beside it refuses it there, and the primary does not go on alone (contract amendment 38).
        var active = _sides.Where(s => s.Mode == Mode.Active).ToList();
        var order = _connection?.OrderForOpenReader ?? HelixWriteOrder.PrimaryFirst;
        for (var n = 0; n < active.Count; n++)
        {
            var side = active[WriteFanOut.Turn(order, n, active.Count)];
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
            throw Break(EveryStrandFailed("Every strand of the transaction failed; roll it back and retry."));
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
                if (_cannotCommitFrom?.Position >= position)
                {
                    _cannotCommitFrom = null; // what could not commit is undone on every strand, and so is all after it
                }

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
