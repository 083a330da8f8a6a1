using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// A step of a transaction (commit, rollback, a savepoint's) and the pair of EF events raised around it: before (which
/// a transaction interceptor may suppress) and after. <see cref="HelixRelationalTransaction"/> raises them around the
/// Helix transaction's steps as EF's own <see cref="RelationalTransaction"/> does around a native transaction's.
/// </summary>
internal sealed class TransactionStep
{
    public static readonly TransactionStep Commit = new(
        "Commit",
        (l, c, t, id, at) => l.TransactionCommitting(c, t, id, at),
        (l, c, t, id, at, ct) => l.TransactionCommittingAsync(c, t, id, at, ct),
        (l, c, t, id, at, took) => l.TransactionCommitted(c, t, id, at, took),
        (l, c, t, id, at, took, ct) => l.TransactionCommittedAsync(c, t, id, at, took, ct));

    public static readonly TransactionStep Rollback = new(
        "Rollback",
        (l, c, t, id, at) => l.TransactionRollingBack(c, t, id, at),
        (l, c, t, id, at, ct) => l.TransactionRollingBackAsync(c, t, id, at, ct),
        (l, c, t, id, at, took) => l.TransactionRolledBack(c, t, id, at, took),
        (l, c, t, id, at, took, ct) => l.TransactionRolledBackAsync(c, t, id, at, took, ct));

    public static readonly TransactionStep CreateSavepoint = new(
        "CreateSavepoint",
        (l, c, t, id, at) => l.CreatingTransactionSavepoint(c, t, id, at),
        (l, c, t, id, at, ct) => l.CreatingTransactionSavepointAsync(c, t, id, at, ct),
        (l, c, t, id, at, _) => l.CreatedTransactionSavepoint(c, t, id, at),
        (l, c, t, id, at, _, ct) => l.CreatedTransactionSavepointAsync(c, t, id, at, ct));

    public static readonly TransactionStep RollbackToSavepoint = new(
        "RollbackToSavepoint",
        (l, c, t, id, at) => l.RollingBackToTransactionSavepoint(c, t, id, at),
        (l, c, t, id, at, ct) => l.RollingBackToTransactionSavepointAsync(c, t, id, at, ct),
        (l, c, t, id, at, _) => l.RolledBackToTransactionSavepoint(c, t, id, at),
        (l, c, t, id, at, _, ct) => l.RolledBackToTransactionSavepointAsync(c, t, id, at, ct));

    public static readonly TransactionStep ReleaseSavepoint = new(
        "ReleaseSavepoint",
        (l, c, t, id, at) => l.ReleasingTransactionSavepoint(c, t, id, at),
        (l, c, t, id, at, ct) => l.ReleasingTransactionSavepointAsync(c, t, id, at, ct),
        (l, c, t, id, at, _) => l.ReleasedTransactionSavepoint(c, t, id, at),
        (l, c, t, id, at, _, ct) => l.ReleasedTransactionSavepointAsync(c, t, id, at, ct));

    private TransactionStep(string action, Before starting, BeforeAsync startingAsync, After ended, AfterAsync endedAsync)
    {
        Action = action;
        Starting = starting;
        StartingAsync = startingAsync;
        Ended = ended;
        EndedAsync = endedAsync;
    }

    public delegate InterceptionResult Before(IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger, IRelationalConnection connection, DbTransaction transaction, Guid transactionId, DateTimeOffset startTime);

    public delegate ValueTask<InterceptionResult> BeforeAsync(IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger, IRelationalConnection connection, DbTransaction transaction, Guid transactionId, DateTimeOffset startTime, CancellationToken cancellationToken);

    public delegate void After(IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger, IRelationalConnection connection, DbTransaction transaction, Guid transactionId, DateTimeOffset startTime, TimeSpan duration);

    public delegate Task AfterAsync(IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger, IRelationalConnection connection, DbTransaction transaction, Guid transactionId, DateTimeOffset startTime, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Gets the action's name in EF's <c>TransactionError</c> event.</summary>
    public string Action { get; }

    public Before Starting { get; }

    public BeforeAsync StartingAsync { get; }

    public After Ended { get; }

    public AfterAsync EndedAsync { get; }
}
