using System.Data;
using System.Data.Common;
using Helix.Data.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Opens the context's connection the Helix way: EF's own connection object on a strand that answers (the one reads go
/// to, else the other), so that EF sees an open connection even while a strand is down; then the
/// <see cref="HelixConnection"/> of its session, which runs that strand's commands on EF's connection object while EF
/// holds no transaction on it, and reaches the other strand with its own.
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

    /// <summary>
    /// Opens EF's connection object on a strand that answers, then the session's Helix connection, which runs the
    /// strand's commands on it while EF holds no transaction on it (<see cref="HelixConnection.Borrow"/>): one open and
    /// one physical connection for both, and the provider's own setup of it. EF's own open is suppressed. A data source
    /// that hedges reads borrows nothing: a hedged read that loses keeps running until its cancellation lands, and it must
    /// not run on a connection EF goes on using (Helix hands a losing attempt's connection over to it to close).
    /// </summary>
    private async ValueTask<InterceptionResult> OpenAsync(DbConnection connection, EfSession session, IOBehavior io, CancellationToken cancellationToken)
    {
        ThrowIfAmbientTransaction();
        var strand = await OpenOnAStrandAsync(connection, session, io, cancellationToken).ConfigureAwait(false);
        if (session.Connection.State != ConnectionState.Open)
        {
            if (router.DataSource.Hedging is null)
            {
                session.Connection.Borrow(strand, connection);
            }

            if (io == IOBehavior.Asynchronous)
            {
                await session.Connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                session.Connection.Open();
            }
        }

        return InterceptionResult.Suppress();
    }

    /// <summary>
    /// Refuses to open under an ambient <c>System.Transactions</c> transaction: EF would enlist its connection object (one
    /// strand's), the strands' connections would enlist beside it, and a transaction over two servers has to be a
    /// distributed one, which aborts when the scope completes (tried on PostgreSQL: <c>TransactionAbortedException</c>
    /// after a <c>SaveChanges</c> that had succeeded). Refused at the start instead, as EF's SQLite provider refuses it.
    /// </summary>
    private void ThrowIfAmbientTransaction()
    {
        if (System.Transactions.Transaction.Current is not null && !router.DataSource.IsSingleStrand)
        {
            throw new NotSupportedException(
                "A context that uses Helix cannot take part in an ambient System.Transactions transaction (a TransactionScope): its two strands are independent databases, and one transaction over both would have to be a distributed transaction, which aborts. "
                + "Use context.Database.BeginTransaction() instead (and transaction.GetHelixTransaction() for other code in it), or suppress the scope around the context (TransactionScopeOption.Suppress).");
        }
    }

    /// <summary>Opens EF's connection object (synchronously when <paramref name="io"/> says so: the caller's own path); returns the strand it is open on.</summary>
    private async ValueTask<Strand> OpenOnAStrandAsync(DbConnection connection, EfSession session, IOBehavior io, CancellationToken cancellationToken)
    {
        Exception? first = null;
        foreach (var strand in Candidates())
        {
            try
            {
                // Set only when it changes: a provider parses the string again on each set (and may not give it back as set).
                var target = strand.ConnectionString;
                if (!ReferenceEquals(session.ShellTarget, target) && !ReferenceEquals(connection.ConnectionString, target))
                {
                    connection.ConnectionString = target;
                }

                session.ShellTarget = target;

                await OpenAsync(connection, io, cancellationToken).ConfigureAwait(false);
                return strand;
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

    /// <summary>The strand the data source's reads go to first (the one a Helix connection opens first), then the other.</summary>
    private Strand[] Candidates()
    {
        var first = HelixConnection.FirstToOpen(router.DataSource);
        return router.DataSource.IsSingleStrand ? [first] : [first, router.DataSource.Reads!.Other(first)!];
    }
}
