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

        if (transaction is HelixTransaction given)
        {
            return Use(connection, given, transactionId, logger, transactionOwned, session);
        }

        if (!ReferenceEquals(transaction, session.ShellTransaction))
        {
            // The application's own native transaction, given to Database.UseTransaction or by its interceptor's answer to
            // TransactionStarting: it is one strand's, and its commit (on the native object) would not reach the Helix
            // transaction, so the writes would be lost.
            throw new NotSupportedException(
                (transactionOwned ? "A transaction interceptor of the application" : "Database.UseTransaction")
                + " gave the context a transaction begun on its native connection object, which is not supported through Helix: that connection is one strand's, and committing the transaction there would not commit the context's writes on the strands. "
                + "Begin it on the context's Helix connection instead (context.Database.GetHelixConnection().BeginTransaction()) and hand that to UseTransaction, or begin it with context.Database.BeginTransaction() and give other code transaction.GetHelixTransaction().");
        }

        // The shell was begun after the session's Helix connection gave EF's object back (EfSession.ShellOn): Helix's own
        // strand connection runs the transaction there.
        var helix = session.BeginTransaction(session.RequestedIsolation ?? transaction.IsolationLevel);
        return new HelixRelationalTransaction(connection, transaction, transactionId, logger, transactionOwned, Dependencies.SqlGenerationHelper, session, helix);
    }

    /// <summary>
    /// <c>Database.UseTransaction</c> with a Helix transaction the application began on the context's own Helix connection
    /// (as plain EF takes one begun on the context's connection): the context's commands run in it, and the application
    /// ends it. Or a Helix transaction an interceptor of the application answered <c>TransactionStarting</c> with
    /// (<paramref name="transactionOwned"/>): EF's, which EF ends. EF's transaction needs a native one on EF's connection
    /// object: the Helix transaction's own there when its commands ran on that object, else the session's shell.
    /// </summary>
    private HelixRelationalTransaction Use(IRelationalConnection connection, HelixTransaction given, Guid transactionId, IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger, bool transactionOwned, EfSession session)
    {
        given.Strands.ThrowIfUnusable();
        if (!ReferenceEquals(given.Connection, session.Connection))
        {
            throw new InvalidOperationException(
                "Database.UseTransaction was given a Helix transaction of another connection, and a context runs its commands on its own Helix connection: begin the transaction on context.Database.GetHelixConnection(), or begin it with context.Database.BeginTransaction() and give other code transaction.GetHelixTransaction().");
        }

        var native = given.InnerOn(connection.DbConnection) ?? session.ShellOn(connection.DbConnection, HelixTransactionInterceptor.ShellLevel(connection.Context, given.IsolationLevel));
        session.UseTransaction(given, transactionOwned);
        return new HelixRelationalTransaction(connection, native, transactionId, logger, transactionOwned, Dependencies.SqlGenerationHelper, session, given);
    }
}

/// <summary>
/// An EF transaction whose commit, rollback and savepoints are the Helix transaction's, on the strands. EF's native
/// transaction on its connection object is never completed here: it ran nothing, and completing it would cost a round
/// trip (Npgsql sends the pending BEGIN and COMMIT) for nothing; it is reused by the connection's next EF transaction
/// and let go with the connection (the provider drops a BEGIN it never sent). EF's transaction events
/// (<c>TransactionCommitting</c>, <c>CreatingTransactionSavepoint</c>, ...) are raised around the Helix transaction's
/// steps as EF raises them around the native ones, so a user's transaction interceptor and EF's logging see them, and an
/// interceptor that suppresses a step suppresses it on the strands.
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
    private readonly bool _owned = transactionOwned;
    private bool _ended;
    private bool _disposed;

    public override bool SupportsSavepoints => true;

    /// <summary>Gets the Helix transaction on the strands that this EF transaction's commands run in.</summary>
    public HelixTransaction Helix => helix;

    public override void Commit()
    {
        Announced(TransactionStep.Commit, helix.Commit);
        End();
    }

    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        await AnnouncedAsync(TransactionStep.Commit, () => helix.CommitAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
        await EndAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Rollback()
    {
        Announced(TransactionStep.Rollback, helix.Rollback);
        End();
    }

    public override async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        await AnnouncedAsync(TransactionStep.Rollback, () => helix.RollbackAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
        await EndAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void CreateSavepoint(string name) => Announced(TransactionStep.CreateSavepoint, () => helix.Save(name));

    public override Task CreateSavepointAsync(string name, CancellationToken cancellationToken = default) =>
        AnnouncedAsync(TransactionStep.CreateSavepoint, () => helix.SaveAsync(name, cancellationToken), cancellationToken);

    public override void RollbackToSavepoint(string name) => Announced(TransactionStep.RollbackToSavepoint, () => helix.Rollback(name));

    public override Task RollbackToSavepointAsync(string name, CancellationToken cancellationToken = default) =>
        AnnouncedAsync(TransactionStep.RollbackToSavepoint, () => helix.RollbackAsync(name, cancellationToken), cancellationToken);

    public override void ReleaseSavepoint(string name) => Announced(TransactionStep.ReleaseSavepoint, () => helix.Release(name));

    public override Task ReleaseSavepointAsync(string name, CancellationToken cancellationToken = default) =>
        AnnouncedAsync(TransactionStep.ReleaseSavepoint, () => helix.ReleaseAsync(name, cancellationToken), cancellationToken);

    /// <summary>Rolls the strands back unless committed, and takes the transaction off EF's connection.</summary>
    /// <remarks>Not base.Dispose: it would dispose the native transaction, which rolls it back with a round trip.</remarks>
#pragma warning disable CA2215 // the native transaction is kept for the connection's next EF transaction (see the class)
    public override void Dispose()
    {
        End();
        AnnounceDisposed();
    }

    public override async ValueTask DisposeAsync()
    {
        await EndAsync(CancellationToken.None).ConfigureAwait(false);
        AnnounceDisposed();
    }
#pragma warning restore CA2215

    /// <summary>Runs a step of the Helix transaction between EF's events for it, as EF runs a native transaction's.</summary>
    private void Announced(TransactionStep step, Action run)
    {
        var (native, clock) = (this.GetDbTransaction(), session.Connection.DataSourceOrThrow.TimeProvider);
        var (startTime, started) = (clock.GetUtcNow(), clock.GetTimestamp());
        try
        {
            if (!step.Starting(Logger, Connection, native, TransactionId, startTime).IsSuppressed)
            {
                run();
            }

            step.Ended(Logger, Connection, native, TransactionId, startTime, clock.GetElapsedTime(started));
        }
        catch (Exception e)
        {
            Logger.TransactionError(Connection, native, TransactionId, step.Action, e, startTime, clock.GetElapsedTime(started));
            throw;
        }
    }

    private async Task AnnouncedAsync(TransactionStep step, Func<Task> run, CancellationToken cancellationToken)
    {
        var (native, clock) = (this.GetDbTransaction(), session.Connection.DataSourceOrThrow.TimeProvider);
        var (startTime, started) = (clock.GetUtcNow(), clock.GetTimestamp());
        try
        {
            if (!(await step.StartingAsync(Logger, Connection, native, TransactionId, startTime, cancellationToken).ConfigureAwait(false)).IsSuppressed)
            {
                await run().ConfigureAwait(false);
            }

            await step.EndedAsync(Logger, Connection, native, TransactionId, startTime, clock.GetElapsedTime(started), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await Logger.TransactionErrorAsync(Connection, native, TransactionId, step.Action, e, startTime, clock.GetElapsedTime(started), cancellationToken).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>EF's <c>TransactionDisposed</c>, once, for a transaction EF began (not one the application handed it).</summary>
    private void AnnounceDisposed()
    {
        if (!_disposed)
        {
            _disposed = true;
            if (_owned)
            {
                Logger.TransactionDisposed(Connection, this.GetDbTransaction(), TransactionId, session.Connection.DataSourceOrThrow.TimeProvider.GetUtcNow());
            }
        }
    }

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
