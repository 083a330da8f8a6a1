using System.Data;
using System.Data.Common;
using Helix.Data.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Opens the context's connection the Helix way: the <see cref="HelixConnection"/> of its session (which reaches the
/// strands that answer), and EF's own connection object, which runs no command: on a strand that answers (the primary
/// unless it is out of service or does not answer), or for SQLite on a private in-memory database, so that EF sees an
/// open connection even while the primary is down.
/// </summary>
internal sealed class HelixConnectionInterceptor(HelixRouter router) : DbConnectionInterceptor
{
    public override InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        if (router.SessionOf(connection, eventData.Context) is not { } session)
        {
            return result;
        }

        if (session.Connection.State != ConnectionState.Open)
        {
            session.Connection.Open();
        }

        OpenOnAStrandAsync(connection, IOBehavior.Synchronous, CancellationToken.None).Synchronously();
        return InterceptionResult.Suppress();
    }

    public override async ValueTask<InterceptionResult> ConnectionOpeningAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        if (router.SessionOf(connection, eventData.Context) is not { } session)
        {
            return result;
        }

        if (session.Connection.State != ConnectionState.Open)
        {
            await session.Connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }

        await OpenOnAStrandAsync(connection, IOBehavior.Asynchronous, cancellationToken).ConfigureAwait(false);
        return InterceptionResult.Suppress();
    }

    public override InterceptionResult ConnectionClosing(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        if (EfSessions.Existing(connection) is { } session)
        {
            session.EndTransaction();
            session.ShellTransaction = null; // the provider lets it go with the connection
            session.Connection.Close();
        }

        return result;
    }

    public override async ValueTask<InterceptionResult> ConnectionClosingAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        if (EfSessions.Existing(connection) is { } session)
        {
            session.EndTransaction();
            session.ShellTransaction = null;
            await session.Connection.CloseAsync().ConfigureAwait(false);
        }

        return result;
    }

    public override void ConnectionDisposed(DbConnection connection, ConnectionEndEventData eventData)
    {
        if (EfSessions.Existing(connection) is { } session)
        {
            EfSessions.Forget(connection);
            session.Dispose();
        }
    }

    public override async Task ConnectionDisposedAsync(DbConnection connection, ConnectionEndEventData eventData)
    {
        if (EfSessions.Existing(connection) is { } session)
        {
            EfSessions.Forget(connection);
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// SQLite's connection object needs no strand: it opens on a private in-memory database, where EF's own (empty)
    /// transactions take no lock a strand's writers could meet. A server's opens on a strand that answers.
    /// </summary>
    private static bool OpensInMemory(DbConnection connection) => connection.GetType().Namespace == "Microsoft.Data.Sqlite";

    /// <summary>Opens EF's connection object (synchronously when <paramref name="io"/> says so: the caller's own path).</summary>
    private async ValueTask OpenOnAStrandAsync(DbConnection connection, IOBehavior io, CancellationToken cancellationToken)
    {
        if (OpensInMemory(connection))
        {
            connection.ConnectionString = "Data Source=:memory:";
            await OpenAsync(connection, io, cancellationToken).ConfigureAwait(false);
            return;
        }

        Exception? first = null;
        foreach (var strand in Candidates())
        {
            try
            {
                connection.ConnectionString = router.DataSource.Strands[strand].ConnectionString;
                await OpenAsync(connection, io, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (DbException e) when (router.DataSource.Classifier.Classify(e) == HelixErrorKind.StrandFault)
            {
                first ??= e;
            }
        }

        throw new HelixException($"No strand accepted a connection for EF Core: {first?.Message}", first);
    }

    private static ValueTask OpenAsync(DbConnection connection, IOBehavior io, CancellationToken cancellationToken)
    {
        if (io == IOBehavior.Asynchronous)
        {
            return new(connection.OpenAsync(cancellationToken));
        }

        connection.Open();
        return default;
    }

    /// <summary>The primary first, unless it is out of service; then the other strand.</summary>
    private IEnumerable<int> Candidates()
    {
        var strands = router.DataSource.Strands;
        var order = strands.Length == 1 || strands[0].State is not (HelixStrandState.Failed or HelixStrandState.OutOfSync or HelixStrandState.Draining) ? new[] { 0, 1 } : [1, 0];
        return order.Where(i => i < strands.Length);
    }
}
