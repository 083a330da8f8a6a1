using System.Data;
using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// EF begins a native transaction on its connection object for each of its transactions. On a routed connection no
/// command runs in it (the session's Helix connection stops borrowing the object first), so Helix begins it instead, so
/// that it takes nothing on the strand, keeps it (never completed) and hands it to EF again for the next transaction at
/// the same level. At the level EF asked for, which EF then reports (<c>TransactionStarted</c>, <c>GetDbTransaction()</c>):
/// Npgsql sends its BEGIN with the next command, and none comes. Not on SQLite, which runs its BEGIN at once and, at any
/// level but read uncommitted, as BEGIN IMMEDIATE, which would lock the strand's file against Helix's own writers: there
/// read uncommitted, which SQLite reports as serializable (as for EF's default level) unless the cache is shared. The
/// isolation level EF asked for goes to the Helix transaction (<see cref="HelixRelationalTransactionFactory"/>).
/// </summary>
internal sealed class HelixTransactionInterceptor : DbTransactionInterceptor
{
    public override InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result) =>
        Starting(connection, eventData, result);

    public override ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default) =>
        new(Starting(connection, eventData, result));

    /// <summary>The level to begin EF's native transaction at for a transaction <paramref name="asked"/> for (see above).</summary>
    public static IsolationLevel ShellLevel(Microsoft.EntityFrameworkCore.DbContext? context, IsolationLevel asked) =>
        context?.Database.ProviderName == ProviderConnectionSetup.SqliteProvider ? IsolationLevel.ReadUncommitted : asked;

    private static InterceptionResult<DbTransaction> Starting(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result)
    {
        if (EfSessions.Existing(connection) is not { } session || result.HasResult)
        {
            return result; // an interceptor of the application gave the transaction: the factory takes it, or refuses it
        }

        session.RequestedIsolation = eventData.IsolationLevel;
        return InterceptionResult<DbTransaction>.SuppressWithResult(session.ShellOn(connection, ShellLevel(eventData.Context, eventData.IsolationLevel)));
    }
}
