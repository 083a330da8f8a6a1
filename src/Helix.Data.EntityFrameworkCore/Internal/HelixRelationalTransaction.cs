using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Makes EF's transactions on a routed connection <see cref="HelixRelationalTransaction"/>s: each keeps a Helix
/// transaction on the strands (contract section 8) beside EF's own on its connection object, which holds nothing.
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
        session.Transaction = session.Connection.BeginTransaction(transaction.IsolationLevel);
        return new HelixRelationalTransaction(connection, transaction, transactionId, logger, transactionOwned, Dependencies.SqlGenerationHelper, session, session.Transaction);
    }
}

/// <summary>
/// An EF transaction whose commit, rollback and savepoints are the Helix transaction's: the strands' own transactions
/// commit (or roll back) first, then EF's empty one on its connection object. Savepoints exist on the strands only.
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
    public override bool SupportsSavepoints => true;

    public override void Commit()
    {
        helix.Commit();
        EndOwn(base.Commit);
    }

    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        await helix.CommitAsync(cancellationToken).ConfigureAwait(false);
        await EndOwnAsync(base.CommitAsync, cancellationToken).ConfigureAwait(false);
    }

    public override void Rollback()
    {
        helix.Rollback();
        EndOwn(base.Rollback);
    }

    public override async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        await helix.RollbackAsync(cancellationToken).ConfigureAwait(false);
        await EndOwnAsync(base.RollbackAsync, cancellationToken).ConfigureAwait(false);
    }

    public override void CreateSavepoint(string name) => helix.Save(name);

    public override Task CreateSavepointAsync(string name, CancellationToken cancellationToken = default) => helix.SaveAsync(name, cancellationToken);

    public override void RollbackToSavepoint(string name) => helix.Rollback(name);

    public override Task RollbackToSavepointAsync(string name, CancellationToken cancellationToken = default) => helix.RollbackAsync(name, cancellationToken);

    public override void ReleaseSavepoint(string name) => helix.Release(name);

    public override Task ReleaseSavepointAsync(string name, CancellationToken cancellationToken = default) => helix.ReleaseAsync(name, cancellationToken);

    /// <summary>
    /// Ends EF's own transaction, which held nothing: once the strands have committed, a fault of the connection object's
    /// server (the strand it opened on went down) must not tell the caller that the commit failed.
    /// </summary>
    private static void EndOwn(Action end)
    {
        try
        {
            end();
        }
        catch (DbException)
        {
            // EF's transaction ran no statement; the strands' outcome is the caller's.
        }
    }

    private static async Task EndOwnAsync(Func<CancellationToken, Task> end, CancellationToken cancellationToken)
    {
        try
        {
            await end(cancellationToken).ConfigureAwait(false);
        }
        catch (DbException)
        {
            // As in EndOwn.
        }
    }

    public override void Dispose()
    {
        session.EndTransaction(helix);
        base.Dispose();
    }

    public override async ValueTask DisposeAsync()
    {
        session.EndTransaction(helix);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
