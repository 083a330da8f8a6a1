using System.Data.Common;
using Helix.Data.Internal;

namespace Helix.Data;

/// <content>
/// Ambient <c>System.Transactions</c> transactions (a <c>TransactionScope</c>): a connection opened in one, or enlisted
/// in one, runs its commands in the Helix transaction that stands for it (<see cref="AmbientEnlistment"/>).
/// </content>
public sealed partial class HelixConnection
{
    private AmbientEnlistment? _enlistment;

    /// <summary>Gets the Helix transaction that stands for the ambient transaction this connection is enlisted in, or <see langword="null"/>.</summary>
    internal HelixTransaction? AmbientTransaction => _enlistment is null ? null : _transaction;

    /// <summary>
    /// Enlists the open connection in <paramref name="transaction"/>: its commands run in the Helix transaction that stands
    /// for it on this connection's data source, committed or rolled back with it (contract section 8). Connections opened
    /// inside a <c>TransactionScope</c> enlist as they open.
    /// </summary>
    /// <param name="transaction">The transaction; <see langword="null"/> does nothing.</param>
    /// <exception cref="InvalidOperationException">The connection is not open, or is in a transaction already.</exception>
    /// <exception cref="NotSupportedException">
    /// The strands' providers take no part in System.Transactions (SQLite), or their strings say <c>Enlist=false</c>; or
    /// another connection of the data source is open in the same transaction.
    /// </exception>
    public override void EnlistTransaction(System.Transactions.Transaction? transaction)
    {
        if (transaction is null)
        {
            return;
        }

        ThrowIfNotOpen(nameof(EnlistTransaction));
        if (_enlistment is not null && _enlistment.Is(transaction))
        {
            return;
        }

        if (_transaction is not null)
        {
            throw new InvalidOperationException("The connection is already in a transaction; it cannot enlist in another.");
        }

        if (!DataSourceOrThrow.TakesAmbientTransactions)
        {
            throw new NotSupportedException(
                "This connection's strands take no part in System.Transactions transactions: their provider ignores them (SQLite), or their connection strings say Enlist=false. Use BeginTransaction().");
        }

        AmbientEnlistment.Join(this, transaction);
    }

    /// <summary>After an open: joins the ambient transaction if there is one and Helix takes the strands' part in it; closes again when it cannot.</summary>
    private void JoinAmbientTransaction(HelixDataSource dataSource)
    {
        if (!dataSource.TakesAmbientTransactions || AmbientTransactions.Current() is not { } ambient)
        {
            return;
        }

        try
        {
            AmbientEnlistment.Join(this, ambient);
        }
        catch
        {
            Close();
            throw;
        }
    }

    /// <summary>Runs this connection's commands in an ambient transaction's Helix transaction, on the inner connections it left (<paramref name="parked"/>) if any.</summary>
    internal void EnterAmbient(AmbientEnlistment enlistment, HelixTransaction transaction, DbConnection?[]? parked)
    {
        for (var i = 0; parked is not null && i < parked.Length; i++)
        {
            if (parked[i] is { } inner)
            {
                if (TakeInner(i) is { } own)
                {
                    Release(i, own); // opened by this connection's own open: the transaction runs on the one it left
                }

                _inner[i] = inner;
            }
        }

        _enlistment = enlistment;
        _transaction = transaction;
    }

    /// <summary>The ambient transaction ended while this connection held it: it keeps its inner connections (the transaction cleared itself as it completed).</summary>
    internal void AmbientEnded() => _enlistment = null;

    /// <summary>Leaves the ambient transaction as the connection closes before it ends: hands the inner connections, with the transaction on them, to the enlistment.</summary>
    internal DbConnection?[] LeaveAmbient()
    {
        _enlistment = null;
        _transaction = null;
        var taken = new DbConnection?[InnerConnections.Length];
        for (var i = 0; i < taken.Length; i++)
        {
            taken[i] = TakeInner(i);
        }

        return taken;
    }
}
