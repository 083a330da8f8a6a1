using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// EF begins a native transaction on its connection object for each of its transactions. On a routed connection no
/// command runs in it (the session's Helix connection stops borrowing the object first), so Helix begins it instead, as
/// lightly as the provider allows (read uncommitted: SQLite then defers its BEGIN and takes no lock on the strand's
/// file, where EF's own BEGIN IMMEDIATE would block the strand's writers), keeps it (never sent) and hands it to EF
/// again each time; the isolation level EF asked for goes to the Helix transaction
/// (<see cref="HelixRelationalTransactionFactory"/>).
/// </summary>
internal sealed class HelixTransactionInterceptor : DbTransactionInterceptor
{
    public override InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result) =>
        Starting(connection, eventData, result);

    public override ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default) =>
        new(Starting(connection, eventData, result));

    private static InterceptionResult<DbTransaction> Starting(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result)
    {
        if (EfSessions.Existing(connection) is not { } session)
        {
            return result;
        }

        session.RequestedIsolation = eventData.IsolationLevel;
        return InterceptionResult<DbTransaction>.SuppressWithResult(session.ShellOn(connection));
    }
}
