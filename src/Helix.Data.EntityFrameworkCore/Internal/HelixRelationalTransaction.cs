using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Makes EF's transactions on a routed connection <see cref="HelixRelationalTransaction"/>s: each keeps a Helix
/// transaction on the strands (contract section 8) beside EF's own native one on its connection object, which runs
/// nothing (<see cref="HelixTransactionInterceptor"/>).
/// </summary>
internal sealed class HelixRelationalTransactionFactory(RelationalTransactionFactoryDependencies dependencies) : RelationalTransactionFactory(dependencies)
{
    public override RelationalTransaction Create(IRelationalConnection connection, DbTransaction transaction, Guid transactionId, IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger, bool transactionOwned)
    {
        if (EfSessions.Existing(connection.DbConnection) is not { } session)
        {
            return base.Create(connection, transaction, transactionId, logger, transactionOwned);
        }

        session.EndTransaction();
        session.Connection.GiveBack(connection.DbConnection); // UseTransaction: a transaction of the caller's own on it
        session.ShellTransaction = transaction;
        session.Transaction = session.Connection.BeginTransaction(session.RequestedIsolation ?? transaction.IsolationLevel);
        return new HelixRelationalTransaction(connection, transaction, transactionId, logger, transactionOwned, Dependencies.SqlGenerationHelper, session, session.Transaction);
    }
}

/// <summary>
/// An EF transaction whose commit, rollback and savepoints are the Helix transaction's, on the strands. EF's native
/// transaction on its connection object is never completed here: it ran nothing, and completing it would cost a round
/// trip (Npgsql sends the pending BEGIN and COMMIT) for nothing; it is reused by the connection's next EF transaction
/// and let go with the connection (the provider drops a BEGIN it never sent). EF's own transaction events
/// (TransactionCommitting, ...) are therefore not raised for a routed context.
/// </summary>
internal sealed class HelixRelationalTransaction(
    IRelationalConnection connection,
    DbTransaction transaction,
    Guid transactionId,
    IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger,
    bool transactionOwned,
    ISqlGenerationHelper sqlGenerationHelper,
    EfSession session,
    HelixTransaction helix) : RelationalTransaction(connection, transaction, transactionId, logger, transactionOwned, sqlGenerationHelper)
{
    private bool _ended;

    public override bool SupportsSavepoints => true;

    public override void Commit()
    {
        helix.Commit();
        End();
    }

    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        await helix.CommitAsync(cancellationToken).ConfigureAwait(false);
        await EndAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Rollback()
    {
        helix.Rollback();
        End();
    }

    public override async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        await helix.RollbackAsync(cancellationToken).ConfigureAwait(false);
        await EndAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void CreateSavepoint(string name) => helix.Save(name);

    public override Task CreateSavepointAsync(string name, CancellationToken cancellationToken = default) => helix.SaveAsync(name, cancellationToken);

    public override void RollbackToSavepoint(string name) => helix.Rollback(name);

    public override Task RollbackToSavepointAsync(string name, CancellationToken cancellationToken = default) => helix.RollbackAsync(name, cancellationToken);

    public override void ReleaseSavepoint(string name) => helix.Release(name);

    public override Task ReleaseSavepointAsync(string name, CancellationToken cancellationToken = default) => helix.ReleaseAsync(name, cancellationToken);

    /// <summary>Rolls the strands back unless committed, and takes the transaction off EF's connection.</summary>
    /// <remarks>Not base.Dispose: it would dispose the native transaction, which rolls it back with a round trip.</remarks>
#pragma warning disable CA2215 // the native transaction is kept for the connection's next EF transaction (see the class)
    public override void Dispose() => End();

    public override async ValueTask DisposeAsync() => await EndAsync(CancellationToken.None).ConfigureAwait(false);
#pragma warning restore CA2215

    /// <summary>Takes the transaction off EF's connection (and closes it if EF opened it for the transaction), once.</summary>
    private void End()
    {
        session.EndTransaction(helix);
        if (!_ended)
        {
            _ended = true;
            ClearTransaction();
        }
    }

    private async Task EndAsync(CancellationToken cancellationToken)
    {
        session.EndTransaction(helix);
        if (!_ended)
        {
            _ended = true;
            await ClearTransactionAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
