using IsolationLevel = System.Data.IsolationLevel;
using System.Data.Common;
using System.Transactions;
using Helix.Data.Logging;

namespace Helix.Data.Internal;

/// <summary>
/// The <see cref="HelixTransaction"/> that stands for an ambient <c>System.Transactions</c> transaction (a
/// <c>TransactionScope</c>) on one data source (contract section 8): begun, with the scope's isolation level, by the
/// first Helix connection opened in the scope, and committed or rolled back when the scope ends, as any Helix transaction
/// is (a strand that missed it gets it by replay). Helix enlists in the scope as one volatile resource, as Npgsql does for
/// its one connection: the strands' own connections stay out of it.
/// </summary>
/// <remarks>
/// A connection closed before the scope ends leaves its inner connections, with the transaction on them, here; the next
/// connection of the data source opened in the scope takes them (code that opens a connection per statement, as Dapper
/// does with a closed one, runs in one transaction). Only one connection at a time can hold it: a
/// second opened while the first is open is refused, where a provider would need a distributed transaction.
/// </remarks>
internal sealed class AmbientEnlistment : ISinglePhaseNotification
{
    private readonly HelixDataSource _dataSource;
    private readonly Transaction _ambient;
    private readonly HelixTransaction _transaction;
    private readonly object _gate = new();
    private HelixConnection? _holder;
    private DbConnection?[]? _parked;
    private bool _ended;
    private bool _committedInPrepare;

    private AmbientEnlistment(HelixDataSource dataSource, Transaction ambient, HelixTransaction transaction, HelixConnection holder)
    {
        _dataSource = dataSource;
        _ambient = ambient;
        _transaction = transaction;
        _holder = holder;
    }

    /// <summary>
    /// Puts an open connection in the ambient transaction: in the Helix transaction that stands for it on the data source,
    /// begun now when this is the first connection opened in it.
    /// </summary>
    /// <exception cref="NotSupportedException">Another connection of the data source is open in the same transaction.</exception>
    /// <exception cref="TransactionException">The ambient transaction takes no more resources (it aborted).</exception>
    public static void Join(HelixConnection connection, Transaction ambient)
    {
        var dataSource = connection.DataSourceOrThrow;
        lock (dataSource.Enlistments)
        {
            if (dataSource.Enlistments.TryGetValue(ambient, out var existing))
            {
                existing.Adopt(connection);
                return;
            }

            var transaction = new HelixTransaction(connection, dataSource, IsolationOf(ambient), isAmbient: true);
            var enlistment = new AmbientEnlistment(dataSource, ambient, transaction, connection);
            ambient.EnlistVolatile(enlistment, EnlistmentOptions.None);
            dataSource.Enlistments[ambient] = enlistment;
            connection.EnterAmbient(enlistment, transaction, parked: null);
        }
    }

    /// <summary>Whether this enlistment stands for <paramref name="ambient"/>.</summary>
    public bool Is(Transaction ambient) => _ambient.Equals(ambient);

    /// <summary>
    /// Takes the transaction's inner connections from a connection that is closing while the scope goes on; returns
    /// whether it did (the connection then releases none of them).
    /// </summary>
    public bool Park(HelixConnection connection)
    {
        lock (_gate)
        {
            if (_ended || !ReferenceEquals(_holder, connection))
            {
                return false;
            }

            _parked = connection.LeaveAmbient();
            _holder = null;
            _transaction.Strands.MoveTo(null);
            return true;
        }
    }

    private void Adopt(HelixConnection connection)
    {
        lock (_gate)
        {
            if (_holder is not null)
            {
                throw new NotSupportedException(
                    "Another connection of this Helix data source is open in the same TransactionScope. Helix runs a scope as one transaction on each strand, held by one connection at a time "
                    + "(two would make a distributed transaction, which the providers refuse too). Close the first connection before opening the next, or use one connection for the scope's work.");
            }

            _holder = connection;
            _transaction.Strands.MoveTo(connection);
            connection.EnterAmbient(this, _transaction, _parked);
            _parked = null;
        }
    }

    /// <inheritdoc />
    public void SinglePhaseCommit(SinglePhaseEnlistment singlePhaseEnlistment)
    {
        try
        {
            Commit();
            singlePhaseEnlistment.Committed();
        }
        catch (HelixException e) when (e.IsOutcomeUnknown)
        {
            singlePhaseEnlistment.InDoubt(e);
        }
#pragma warning disable CA1031 // the scope's Dispose throws it, as TransactionAbortedException's inner exception
        catch (Exception e)
#pragma warning restore CA1031
        {
            singlePhaseEnlistment.Aborted(e);
        }
        finally
        {
            End();
        }
    }

    /// <summary>
    /// Another resource shares the ambient transaction (a two-phase commit): Helix commits here, where a failure can still
    /// abort the others, since two independent strands cannot be prepared as one and committed later.
    /// </summary>
    public void Prepare(PreparingEnlistment preparingEnlistment)
    {
        try
        {
            Commit();
            _committedInPrepare = true;
            preparingEnlistment.Prepared();
        }
#pragma warning disable CA1031 // handed to System.Transactions, which aborts the transaction with it
        catch (Exception e)
#pragma warning restore CA1031
        {
            End();
            preparingEnlistment.ForceRollback(e);
        }
    }

    /// <inheritdoc />
    public void Commit(Enlistment enlistment)
    {
        End();
        enlistment.Done();
    }

    /// <inheritdoc />
    public void Rollback(Enlistment enlistment)
    {
        if (_committedInPrepare)
        {
            Log.AmbientRolledBackAfterCommit(_dataSource.Logger);
        }

        End(); // rolls back what did not commit
        enlistment.Done();
    }

    /// <inheritdoc />
    public void InDoubt(Enlistment enlistment)
    {
        End();
        enlistment.Done();
    }

    private void Commit() => _transaction.Strands.CommitAsync(IOBehavior.Synchronous, CancellationToken.None).Synchronously();

    /// <summary>Forgets the ambient transaction; the inner connections left here go back to their pools.</summary>
    private void End()
    {
        DbConnection?[]? parked;
        lock (_gate)
        {
            if (_ended)
            {
                return;
            }

            _ended = true;
            _dataSource.Enlistments.TryRemove(new KeyValuePair<Transaction, AmbientEnlistment>(_ambient, this));
            _holder?.AmbientEnded();
            _holder = null;
            parked = _parked;
            _parked = null;
        }

        if (!_transaction.Strands.IsCompleted)
        {
            _transaction.Strands.AbandonAsync(IOBehavior.Synchronous).Synchronously(); // ended without a commit that completed it
        }

        foreach (var inner in parked ?? [])
        {
            inner?.Dispose();
        }
    }

    private static IsolationLevel IsolationOf(Transaction ambient) => ambient.IsolationLevel switch
    {
        System.Transactions.IsolationLevel.Serializable => IsolationLevel.Serializable,
        System.Transactions.IsolationLevel.RepeatableRead => IsolationLevel.RepeatableRead,
        System.Transactions.IsolationLevel.ReadCommitted => IsolationLevel.ReadCommitted,
        System.Transactions.IsolationLevel.ReadUncommitted => IsolationLevel.ReadUncommitted,
        System.Transactions.IsolationLevel.Snapshot => IsolationLevel.Snapshot,
        System.Transactions.IsolationLevel.Chaos => IsolationLevel.Chaos,
        _ => IsolationLevel.Unspecified,
    };
}
