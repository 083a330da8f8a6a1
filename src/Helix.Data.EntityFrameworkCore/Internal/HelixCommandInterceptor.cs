using System.Data;
using System.Data.Common;
using Helix.Data.Internal;
using Helix.Data.Internal.Execution;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Runs each command EF executes on the context's connection through Helix's engine instead of EF's connection, and
/// hands EF the result: the answering strand's native reader, a row count or a scalar.
/// </summary>
internal sealed class HelixCommandInterceptor : DbCommandInterceptor
{
    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result) =>
        Routed(command, eventData, result.HasResult) is { } session
            ? InterceptionResult<DbDataReader>.SuppressWithResult((DbDataReader)session.ExecuteAsync(command, Operation.Reader, CommandBehavior.Default, IsSchemaChange(eventData), IOBehavior.Synchronous, CancellationToken.None).Synchronously()!)
            : result;

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default) =>
        Routed(command, eventData, result.HasResult) is { } session
            ? InterceptionResult<DbDataReader>.SuppressWithResult((DbDataReader)(await session.ExecuteAsync(command, Operation.Reader, CommandBehavior.Default, IsSchemaChange(eventData), IOBehavior.Asynchronous, cancellationToken).ConfigureAwait(false))!)
            : result;

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result) =>
        Routed(command, eventData, result.HasResult) is { } session
            ? InterceptionResult<int>.SuppressWithResult((int)session.ExecuteAsync(command, Operation.NonQuery, CommandBehavior.Default, IsSchemaChange(eventData), IOBehavior.Synchronous, CancellationToken.None).Synchronously()!)
            : result;

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default) =>
        Routed(command, eventData, result.HasResult) is { } session
            ? InterceptionResult<int>.SuppressWithResult((int)(await session.ExecuteAsync(command, Operation.NonQuery, CommandBehavior.Default, IsSchemaChange(eventData), IOBehavior.Asynchronous, cancellationToken).ConfigureAwait(false))!)
            : result;

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result) =>
        Routed(command, eventData, result.HasResult) is { } session
            ? InterceptionResult<object>.SuppressWithResult(session.ExecuteAsync(command, Operation.Scalar, CommandBehavior.Default, IsSchemaChange(eventData), IOBehavior.Synchronous, CancellationToken.None).Synchronously()!)
            : result;

    public override async ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default) =>
        Routed(command, eventData, result.HasResult) is { } session
            ? InterceptionResult<object>.SuppressWithResult((await session.ExecuteAsync(command, Operation.Scalar, CommandBehavior.Default, IsSchemaChange(eventData), IOBehavior.Asynchronous, cancellationToken).ConfigureAwait(false))!)
            : result;

    /// <summary>
    /// The session of a routed command, or null when there is none or an interceptor before Helix's answered it (as plain
    /// EF then runs nothing). Migrations (and <c>EnsureCreated</c>) change the schema of both strands at once: they are
    /// refused unless every strand is healthy, since a schema change is not replayed blindly. Not the release of EF's
    /// SQLite migration lock: taken while every strand was healthy, it must be released on every strand (by replay on one
    /// that has left since), or no migration could run again.
    /// </summary>
    private static EfSession? Routed(DbCommand command, CommandEventData eventData, bool answered)
    {
        // A cache or a read-only guard registered before UseHelix answered the command itself: nothing runs.
        if (answered)
        {
            return null;
        }

        var session = EfSessions.Existing(command.Connection);
        if (session is not null && IsSchemaChange(eventData) && !command.CommandText.StartsWith(SqliteLockRelease, StringComparison.Ordinal))
        {
            session.ThrowIfAnyStrandIsNotHealthy();
        }

        return session;
    }

    /// <summary>How EF Core's SQLite provider releases its migration lock (<c>SqliteHistoryRepository</c>): it deletes the lock's row.</summary>
    private const string SqliteLockRelease = "DELETE FROM \"__EFMigrationsLock\"";

    private static bool IsSchemaChange(CommandEventData eventData) => eventData.CommandSource == CommandSource.Migrations;

    public override InterceptionResult DataReaderDisposing(DbCommand command, DataReaderDisposingEventData eventData, InterceptionResult result)
    {
        EfSessions.Existing(command.Connection)?.ReaderDisposed(eventData.DataReader);
        return result;
    }
}
