using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// EF begins a native transaction on its connection object for each of its transactions; on a routed connection that
/// object runs nothing, so the native transaction begun first is kept (never sent) and handed to EF again each time,
/// and the isolation level EF asked for goes to the Helix transaction (<see cref="HelixRelationalTransactionFactory"/>).
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
        return session.ShellTransaction is { } kept ? InterceptionResult<DbTransaction>.SuppressWithResult(kept) : result;
    }
}
