using System.Data;
using System.Data.Common;
using Helix.Data.Internal;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Opens the context's connection the Helix way: EF's own connection object on a strand that answers (the one reads go
/// to, else the other), so that EF sees an open connection even while a strand is down; then the
/// <see cref="HelixConnection"/> of its session, which runs that strand's commands on EF's connection object while EF
/// holds no transaction on it, and reaches the other strand with its own.
/// </summary>
internal sealed class HelixConnectionInterceptor(HelixRouter router) : DbConnectionInterceptor
{
    /// <summary>Gets the router this interceptor opens connections for.</summary>
    public HelixRouter Router => router;

    /// <summary>
    /// Makes the context's own connection object one of the strand's data source, when the strand reads go to first was
    /// given as a data source: the object EF's provider would make from that strand's connection string could not open
    /// (no password). Not the provider's other connections (Npgsql's to the <c>postgres</c> database), which EF makes too.
    /// </summary>
    public override InterceptionResult<DbConnection> ConnectionCreating(ConnectionCreatingEventData eventData, InterceptionResult<DbConnection> result)
    {
        if (result.HasResult || eventData.Context is not { } context || HelixConnection.FirstToOpen(router.DataSource) is not { OwnsDataSource: false } strand
            || context.GetService<IRelationalConnection>().ConnectionId != eventData.ConnectionId)
        {
            return result;
        }

        var connection = strand.ConnectionSource.CreateConnection();
        MadeFrom.AddOrUpdate(connection, strand);
        return InterceptionResult<DbConnection>.SuppressWithResult(connection);
    }

    // EF connection objects made from a strand's data source (ConnectionCreating), for their session to know it.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<DbConnection, Strand> MadeFrom = [];

    public override InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result) =>
        router.SessionOf(connection, eventData.Context) is { } session
            ? OpenAsync(connection, eventData.Context!, session, result.IsSuppressed, IOBehavior.Synchronous, CancellationToken.None).Synchronously()
            : result;

    public override ValueTask<InterceptionResult> ConnectionOpeningAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default) =>
        router.SessionOf(connection, eventData.Context) is { } session
            ? OpenAsync(connection, eventData.Context!, session, result.IsSuppressed, IOBehavior.Asynchronous, cancellationToken)
            : new(result);

    public override InterceptionResult ConnectionClosing(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        if (EfSessions.Existing(connection) is { } session)
        {
            session.CloseAsync(IOBehavior.Synchronous).Synchronously();
            session.Connection.Close();
        }

        return result;
    }

    public override async ValueTask<InterceptionResult> ConnectionClosingAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        if (EfSessions.Existing(connection) is { } session)
        {
            await session.CloseAsync(IOBehavior.Asynchronous).ConfigureAwait(false);
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
    /// not run on a connection EF goes on using (Helix hands a losing attempt's connection over to it to close). Nor does
    /// a connection opened in a <c>TransactionScope</c>: the Helix connection joins the scope's transaction, which runs on
    /// connections of its own that it keeps past the close when the scope goes on, and EF's object stays out of it.
    /// When an interceptor of the application suppressed EF's open (<paramref name="openedByApplication"/>: it opens the
    /// object itself, its own way), EF's object is left as the application made it, and the Helix connection opens on
    /// connections of its own.
    /// </summary>
    private async ValueTask<InterceptionResult> OpenAsync(DbConnection connection, DbContext context, EfSession session, bool openedByApplication, IOBehavior io, CancellationToken cancellationToken)
    {
        var inScope = ThrowIfAmbientTransactionIsNotTaken(context);
        Strand? strand = null;
        var open = connection;
        if (!openedByApplication)
        {
            (strand, open) = await OpenOnAStrandAsync(connection, session, io, cancellationToken).ConfigureAwait(false);
            if (!ReferenceEquals(open, connection))
            {
                HandToEf(context, connection, open, strand);
            }
        }

        if (session.Connection.State != ConnectionState.Open)
        {
            if (strand is not null && router.DataSource.Hedging is null && !inScope)
            {
                session.Connection.Borrow(strand, open);
            }

            try
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
            catch when (strand is not null)
            {
                // EF takes its open to have failed: its object must not stay open, or EF's next open would find it open
                // and not ask again (a second connection open at once in one scope is refused here).
                open.Close();
                throw;
            }
        }

        return InterceptionResult.Suppress();
    }

    /// <summary>
    /// Whether the context opens inside an ambient <c>System.Transactions</c> transaction (a <c>TransactionScope</c>) that
    /// Helix takes: the context's connection service enlists its Helix connection in place of EF's connection object
    /// (<see cref="AmbientEnlisting"/>), and the Helix connection runs the scope as one Helix transaction on both strands.
    /// Refuses the scope where Helix does not take it: over strands whose provider takes no part in System.Transactions
    /// (SQLite: a scope could not make the writes on two files one), and where the provider's connection service could not
    /// be extended, so that EF would enlist its connection object (one strand's) beside Helix's and the scope's commit
    /// would be a two-phase one over two servers, which aborts (tried on PostgreSQL before: <c>TransactionAbortedException</c>
    /// after a <c>SaveChanges</c> that had succeeded).
    /// </summary>
    private bool ThrowIfAmbientTransactionIsNotTaken(DbContext context)
    {
        if (router.DataSource.IsSingleStrand || AmbientTransactions.Current() is null)
        {
            return false;
        }

        if (router.DataSource.TakesAmbientTransactions && AmbientEnlisting.Routes(context.GetService<IRelationalConnection>()))
        {
            return true;
        }

        throw new NotSupportedException(
            "A context that uses Helix cannot take part in this ambient System.Transactions transaction (a TransactionScope): "
            + (router.DataSource.TakesAmbientTransactions
                ? $"its provider's connection service ({context.GetService<IRelationalConnection>().GetType().Name}) could not be extended to enlist Helix's connection in place of one strand's, and one transaction over two servers would be a distributed transaction, which aborts. "
                : "its strands' provider takes no part in System.Transactions (SQLite), or their connection strings say Enlist=false, so a scope could not make the writes on both strands one. ")
            + "Use context.Database.BeginTransaction() instead (and transaction.GetHelixTransaction() for other code in it), or suppress the scope around the context (TransactionScopeOption.Suppress).");
    }

    /// <summary>
    /// Opens EF's connection object on the first strand that accepts it (synchronously when <paramref name="io"/> says so:
    /// the caller's own path); returns that strand and the object open on it: EF's own, or one of the strand's data
    /// source that is to take its place (<see cref="ObjectFor"/>). When none does, throws the first strand's error.
    /// </summary>
    private async ValueTask<(Strand Strand, DbConnection Open)> OpenOnAStrandAsync(DbConnection connection, EfSession session, IOBehavior io, CancellationToken cancellationToken)
    {
        Exception? first = null;
        using var outside = AmbientTransactions.Suppress(router.DataSource); // EF's object never enlists: the Helix connection takes the scope
        foreach (var strand in Candidates())
        {
            var target = ObjectFor(strand, connection, session);
            try
            {
                await OpenAsync(target, io, cancellationToken).ConfigureAwait(false);
                return (strand, target);
            }
            catch (DbException e) when (router.DataSource.Classifier.Classify(e) == HelixErrorKind.StrandFault)
            {
                first ??= e;
                if (!ReferenceEquals(target, connection))
                {
                    target.Dispose(); // never opened: nothing to wait for
                }
            }
        }

        // No strand answers: the error of the strand reads go to first, as EF without Helix gets it from its server. EF's
        // providers act on it: Npgsql's migrator and database creator take "3D000: database does not exist" to mean there
        // is none yet, and its retrying execution strategy retries the transient ones.
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first!);
        return default;
    }

    /// <summary>
    /// The connection object that opens EF's connection on <paramref name="strand"/>. A strand whose connections come from
    /// the data source Helix built from its connection string: EF's own object, pointed at it by that connection string
    /// (EF's provider made the object and set it up). Otherwise the strand's connections come from a data source that
    /// holds more than its connection string says (one the application gave, whose connection string may lack the
    /// password; or the one EF's provider built with its type mappings and plugins): an object of that data source. EF's
    /// own object is one when it is still the object EF's provider made for the primary's connection string from that data
    /// source, or one Helix put in its place; else a new one takes its place once open.
    /// </summary>
    private static DbConnection ObjectFor(Strand strand, DbConnection connection, EfSession session)
    {
        var source = strand.ConnectionSource;
        if (strand.OwnsDataSource && ReferenceEquals(source, strand.DataSource))
        {
            // Set only when it changes: a provider parses the string again on each set (and may not give it back as set).
            var target = strand.ConnectionString;
            if (!ReferenceEquals(session.ShellTarget, target) && !ReferenceEquals(connection.ConnectionString, target))
            {
                connection.ConnectionString = target;
            }

            session.ShellTarget = target;
            session.ShellSource = null;
            return connection;
        }

        if (session.ShellSource is null && session.ShellTarget is null)
        {
            // EF's object as first made: one of a strand's data source (ConnectionCreating), or the one EF's provider made
            // from its data source for the primary's connection string, which is the primary's source.
            session.ShellSource = MadeFrom.TryGetValue(connection, out var madeFrom) ? madeFrom
                : strand.Id == HelixStrand.Primary && strand.OwnsDataSource ? strand : null;
        }

        return strand.SetUp(ReferenceEquals(session.ShellSource, strand) ? connection : source.CreateConnection());
    }

    /// <summary>
    /// Makes <paramref name="open"/>, a strand data source's object, EF's connection object in place of
    /// <paramref name="connection"/>: the session follows it, EF owns it (and disposes the one it replaces, closed), and
    /// the context's command timeout, which EF resets when its connection object changes, is kept.
    /// </summary>
    private static void HandToEf(DbContext context, DbConnection connection, DbConnection open, Strand strand)
    {
        var relational = context.GetService<IRelationalConnection>();
        var commandTimeout = relational.CommandTimeout;
        var session = EfSessions.Move(connection, open);
        session.ShellSource = strand;
        session.ShellTarget = null;
        relational.SetDbConnection(open, contextOwnsConnection: true);
        relational.CommandTimeout = commandTimeout;
        EfSessions.KeepRouting(connection, session);
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
