using System.Data;
using System.Data.Common;
using Helix.Data.Internal;
using Helix.Data.Internal.Execution;
using Helix.Data.Replay;

namespace Helix.Data;

/// <content>
/// The command as the engine sees it (<see cref="IStatement"/>): how each strand's inner command is made from this one,
/// recorded for replay, and how its result comes back to the caller; plus what the command tracks while it runs (its
/// inner commands, for <see cref="Cancel"/>; the reader it returned).
/// </content>
public sealed partial class HelixCommand : IStatement
{
    // The inner commands running now (for Cancel): one per strand, held in the command itself, no list or lock per command.
    private ActiveCommands _active;
    private (DbCommand Command, bool Detach, HelixConnection Connection, int Strand)? _readerCommand;

    bool IStatement.IsBatch => _batch is not null;

    bool IStatement.Prepared => _prepared;

    bool IStatement.IsSchemaChange => false;

    bool IStatement.TransactionSet => _transaction is not null;

    HelixTransaction? IStatement.CreatedIn => CreatedIn;

    /// <summary>Validates the call, classifies the command, and hands it to the engine.</summary>
    private ValueTask<object?> ExecuteAsync(Operation operation, CommandBehavior behavior, IOBehavior io, CancellationToken cancellationToken)
    {
        try
        {
            var connection = _connection ?? throw new InvalidOperationException($"{operation.MethodName()}: the Connection property has not been initialized.");
            connection.ThrowIfNotOpen(operation);
            if (_readerCommand is not null)
            {
                throw new InvalidOperationException("This command has an open reader; close it before executing the command again.");
            }

            cancellationToken.ThrowIfCancellationRequested();
            var transaction = connection.ActiveTransaction;
            if (_transaction is not null && _transaction != transaction)
            {
                throw new InvalidOperationException("The command's Transaction is not the active transaction of its connection (it has completed, or belongs to another connection).");
            }

            var text = _batch?.Analyze() ?? (_commandType == CommandType.Text ? SqlClassifier.Analyze(_commandText) : new(SqlClassifier.IsWrite(_commandType, _commandText), null));
            var isWrite = Intent switch
            {
                HelixCommandIntent.Read => false,
                HelixCommandIntent.Write => true,
                _ => operation == Operation.NonQuery || text.IsWrite,
            };
            return CommandEngine.ExecuteAsync(this, connection, transaction, operation, behavior, text, isWrite, io, cancellationToken);
        }
        catch (Exception e)
        {
            return CommandEngine.Failed(e, cancellationToken);
        }
    }

    /// <summary>Releases the inner command behind a reader this command returned.</summary>
    internal void OnReaderClosed(HelixDataReader reader)
    {
        if (_readerCommand is { } pending)
        {
            _readerCommand = null;
            pending.Connection.ReaderClosed(pending.Strand);
            var (outputs, counts) = ((IStatement)this).CaptureOutputs(pending.Command); // output values are there once the reader is closed
            ApplyCaptured(outputs, counts);
            ((IStatement)this).Release(pending.Command, pending.Detach);
        }
    }

    /// <inheritdoc />
    object? IStatement.Deliver(in StrandResult result, Action<DbDataReader>? onReaderClosed)
    {
        ApplyCaptured(result.Outputs, result.BatchCounts);
        if (result.Value is DbDataReader reader)
        {
            _readerCommand = (result.Command!, result.Detach, _connection!, result.Strand.Index);
            _connection!.ReaderOpened(result.Strand.Index);
            return HelixDataReader.Create(reader, this, _connection!, result.Strand.Id, result.Behavior, onReaderClosed);
        }

        return result.Value;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Its transaction is set even when it is none: a provider may give a new command the connection's own (SQLite does),
    /// where the plain provider's command would have none.
    /// </remarks>
    DbCommand IStatement.CreateInner(DbConnection connection, Strand strand, bool useOriginals, in Execution execution, DbParameter[]? copies, DbTransaction? transaction, out bool detach)
    {
        if (_batch is not null)
        {
            var batch = _batch.CreateInner(connection, strand, useOriginals, execution.Timestamp, _commandTimeout, out detach);
            batch.Transaction = transaction;
            Track(batch);
            return batch;
        }

        var inner = connection.CreateCommand();
        inner.CommandText = _commandText;
        inner.CommandType = _commandType;
        if (_commandTimeout is { } timeout)
        {
            inner.CommandTimeout = timeout;
        }

        detach = false;
        if (copies is not null)
        {
            // Made beforehand by CopyParametersFor, helix_ts included. Not AddRange: providers enumerate the array
            // through an allocated enumerator.
            foreach (var copy in copies)
            {
                inner.Parameters.Add(copy);
            }
        }
        else
        {
            foreach (var parameter in _parameters.Items)
            {
                if (useOriginals && ParameterCopier.IsNative(parameter, strand.Factory))
                {
                    inner.Parameters.Add(parameter);
                    detach = true;
                }
                else
                {
                    inner.Parameters.Add(ParameterCopier.CopyFor(parameter, strand.Factory, ownValue: false));
                }
            }

            if (execution.Text.TimestampParameter is not null && TimestampParameter(strand, in execution) is { } stamp)
            {
                inner.Parameters.Add(stamp);
            }
        }

        inner.Transaction = transaction;
        Track(inner);
        return inner;
    }

    /// <inheritdoc />
    DbParameter[] IStatement.CopyParametersFor(Strand strand, in Execution execution)
    {
        var stamp = TimestampParameter(strand, in execution);
        var copies = new DbParameter[_parameters.Count + (stamp is null ? 0 : 1)];
        var items = _parameters.Items;
        for (var i = 0; i < items.Length; i++)
        {
            copies[i] = ParameterCopier.CopyFor(items[i], strand.Factory, ownValue: false);
        }

        if (stamp is not null)
        {
            copies[^1] = stamp;
        }

        return copies;
    }

    /// <inheritdoc />
    /// <remarks>
    /// A copy has its original's direction: only parameters that are not input are looked up in the inner command. The
    /// strand that ran on the caller's own parameters has set them already; their values are captured all the same, to
    /// compare with another strand's (<see cref="ReturnedValues"/>).
    /// </remarks>
    ((int Index, object? Value)[]? Outputs, int[]? BatchCounts) IStatement.CaptureOutputs(DbCommand inner)
    {
        List<(int, object?)>? outputs = null;
        var items = _parameters.Items;
        for (var i = 0; i < items.Length; i++)
        {
            if (items[i].Direction != ParameterDirection.Input && i < inner.Parameters.Count)
            {
                (outputs ??= []).Add((i, inner.Parameters[i].Value));
            }
        }

        return (outputs?.ToArray(), (inner as BatchAsCommand)?.RecordsAffected());
    }

    /// <inheritdoc />
    void IStatement.Release(DbCommand inner, bool detach)
    {
        Untrack(inner);
        if (detach)
        {
            // The caller's own parameter objects may be used again elsewhere.
            if (inner is BatchAsCommand batch)
            {
                batch.DetachParameters();
            }
            else
            {
                inner.Parameters.Clear();
            }
        }

        inner.Dispose();
    }

    /// <inheritdoc />
    void IStatement.ThrowIfQueueCannotStore(HelixReplayQueue? queue)
    {
        if (queue is null)
        {
            return;
        }

        if (_batch is null)
        {
            ThrowIfCannotStore(queue, _parameters.Items);
            return;
        }

        foreach (var command in _batch.Commands)
        {
            ThrowIfCannotStore(queue, command.Parameters.Items);
        }

        static void ThrowIfCannotStore(HelixReplayQueue queue, ReadOnlySpan<DbParameter> parameters)
        {
            foreach (var parameter in parameters)
            {
                if (!queue.CanStore(parameter.Value))
                {
                    HelixReplaySerializer.ThrowIfCannotStore(parameter.ParameterName, parameter.Value);
                    throw new NotSupportedException($"Parameter '{parameter.ParameterName}' has a value that the replay queue ({queue.GetType().Name}) cannot store, so the write was refused before anything ran.");
                }
            }
        }
    }

    /// <inheritdoc />
    IEnumerable<RecordedStatement> IStatement.Record(in Execution execution, IEnumerable<Strand> strands, int strandCount) =>
        _batch?.Record(execution.Timestamp, _commandTimeout, strands, strandCount)
        ?? [RecordedStatement.Capture(_commandText, _commandType, _commandTimeout, _parameters.Items, TimestampTemplate(in execution), strands, strandCount, ReplayPriority)];

    /// <summary>The <c>helix_ts</c> parameter for a strand, unless the text does not name it or the caller set it.</summary>
    private DbParameter? TimestampParameter(Strand strand, in Execution execution) =>
        TimestampTemplate(in execution) is { } template ? ParameterCopier.CopyFor(template, strand.Factory, ownValue: false) : null;

    /// <summary>The <c>helix_ts</c> parameter in neutral form, unless the text does not name it or the caller set it.</summary>
    private HelixParameter? TimestampTemplate(in Execution execution) =>
        execution.Text.TimestampParameter is { } name && _parameters.IndexOf(name) < 0 ? new HelixParameter(name, execution.Timestamp) : null;

    /// <summary>Sets what a strand left on its inner command: output parameter values, and a batch's per-command row counts.</summary>
    private void ApplyCaptured((int Index, object? Value)[]? outputs, int[]? batchCounts)
    {
        _batch?.SetRecordsAffected(batchCounts);
        foreach (var (index, value) in outputs ?? [])
        {
            if (index < _parameters.Count && !ReferenceEquals(_parameters.Items[index].Value, value)) // the caller's own parameter holds it already
            {
                _parameters.Items[index].Value = value;
            }
        }
    }

    private List<DbCommand> ActiveInnerCommands()
    {
        var active = new List<DbCommand>(ActiveCommands.Length);
        for (var i = 0; i < ActiveCommands.Length; i++)
        {
            if (Volatile.Read(ref _active[i]) is { } inner)
            {
                active.Add(inner);
            }
        }

        return active;
    }

    private void Track(DbCommand inner)
    {
        for (var i = 0; i < ActiveCommands.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _active[i], inner, null) is null)
            {
                return;
            }
        }

        // More inner commands at once than slots cannot happen (one per strand, a settling reader included); were it
        // to, Cancel would miss this one, nothing else.
    }

    private void Untrack(DbCommand inner)
    {
        for (var i = 0; i < ActiveCommands.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _active[i], null, inner) == inner)
            {
                return;
            }
        }
    }
}

/// <summary>Slots for the inner commands a <see cref="HelixCommand"/> runs at once.</summary>
[System.Runtime.CompilerServices.InlineArray(Length)]
internal struct ActiveCommands
{
    public const int Length = 4;

    private DbCommand? _first;
}
