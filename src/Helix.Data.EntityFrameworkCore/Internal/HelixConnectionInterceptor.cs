using System.Data;
using System.Data.Common;
using Helix.Data.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Opens the context's connection the Helix way: the <see cref="HelixConnection"/> of its session (which reaches the
/// strands that answer), and EF's own connection object, which runs no command, on a strand that answers (the primary
/// unless it is out of service or does not answer), so that EF sees an open connection even while the primary is down.
/// </summary>
internal sealed class HelixConnectionInterceptor(HelixRouter router) : DbConnectionInterceptor
{
    public override InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result) =>
        router.SessionOf(connection, eventData.Context) is { } session
            ? OpenAsync(connection, session, IOBehavior.Synchronous, CancellationToken.None).Synchronously()
            : result;

    public override ValueTask<InterceptionResult> ConnectionOpeningAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default) =>
        router.SessionOf(connection, eventData.Context) is { } session
            ? OpenAsync(connection, session, IOBehavior.Asynchronous, cancellationToken)
            : new(result);

    public override InterceptionResult ConnectionClosing(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        if (EfSessions.Existing(connection) is { } session)
        {
            session.Close();
            session.Connection.Close();
        }

        return result;
    }

    public override async ValueTask<InterceptionResult> ConnectionClosingAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        if (EfSessions.Existing(connection) is { } session)
        {
            session.Close();
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

    /// <summary>Opens the session's Helix connection, then EF's connection object; EF's own open is suppressed.</summary>
    private async ValueTask<InterceptionResult> OpenAsync(DbConnection connection, EfSession session, IOBehavior io, CancellationToken cancellationToken)
    {
        if (session.Connection.State != ConnectionState.Open)
        {
            if (io == IOBehavior.Asynchronous)
            {
                await session.Connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                session.Connection.Open();
            }
        }

        await OpenOnAStrandAsync(connection, session, io, cancellationToken).ConfigureAwait(false);
        return InterceptionResult.Suppress();
    }

    /// <summary>Opens EF's connection object (synchronously when <paramref name="io"/> says so: the caller's own path).</summary>
    private async ValueTask OpenOnAStrandAsync(DbConnection connection, EfSession session, IOBehavior io, CancellationToken cancellationToken)
    {
        Exception? first = null;
        foreach (var strand in Candidates())
        {
            try
            {
                // Set only when it changes: a provider parses the string again on each set (and may not give it back as set).
                var target = router.DataSource.Strands[strand].ConnectionString;
                if (!ReferenceEquals(session.ShellTarget, target) && !ReferenceEquals(connection.ConnectionString, target))
                {
                    connection.ConnectionString = target;
                }

                session.ShellTarget = target;

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
