using System.Data;
using Helix.Data;
using Helix.Data.EntityFrameworkCore.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

// The namespace of DatabaseFacade's own extensions (GetDbConnection), so that these show beside them.
namespace Microsoft.EntityFrameworkCore;

/// <summary>
/// Dapper and ADO.NET beside a context that uses Helix: the <see cref="HelixConnection"/> and <see cref="HelixTransaction"/>
/// that run the context's commands on the strands. <c>Database.GetDbConnection()</c> is the native connection of one
/// strand: a command run on it by the application reaches that strand only, so code that shares a context's connection
/// (or its transaction) uses these instead.
/// </summary>
public static class HelixDatabaseFacadeExtensions
{
    /// <summary>
    /// Gets the Helix connection that runs the context's commands on the strands, opening the context's connection if it
    /// is closed (as <c>Database.OpenConnection()</c> does: it then stays open until <c>Database.CloseConnection()</c> or
    /// the context's disposal). A command on it writes to both strands, and runs in the context's transaction when given
    /// <see cref="GetHelixTransaction"/>. The context owns the connection: do not close or dispose it.
    /// </summary>
    /// <param name="database">The context's <c>Database</c>.</param>
    /// <returns>The context's Helix connection, open.</returns>
    /// <exception cref="InvalidOperationException">The context is not configured with <c>UseHelix</c>.</exception>
    public static HelixConnection GetHelixConnection(this DatabaseFacade database)
    {
        ThrowIfNotRouted(database);
        if (database.GetDbConnection().State != ConnectionState.Open)
        {
            database.OpenConnection();
        }

        return SessionOf(database).Connection;
    }

    /// <summary>Gets the Helix connection that runs the context's commands, opening the context's connection asynchronously if it is closed (see <see cref="GetHelixConnection"/>).</summary>
    /// <param name="database">The context's <c>Database</c>.</param>
    /// <param name="cancellationToken">Cancels opening the connection.</param>
    /// <returns>The context's Helix connection, open.</returns>
    /// <exception cref="InvalidOperationException">The context is not configured with <c>UseHelix</c>.</exception>
    public static async Task<HelixConnection> GetHelixConnectionAsync(this DatabaseFacade database, CancellationToken cancellationToken = default)
    {
        ThrowIfNotRouted(database);
        if (database.GetDbConnection().State != ConnectionState.Open)
        {
            await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }

        return SessionOf(database).Connection;
    }

    /// <summary>
    /// Gets the Helix transaction on the strands that an EF transaction of a context using Helix runs in: give it to a
    /// command on <see cref="GetHelixConnection"/> (Dapper's <c>transaction:</c>) to run that command in the same
    /// transaction, committed or rolled back with it on both strands. (<c>GetDbTransaction()</c> is a native transaction
    /// of one strand, in which Helix runs nothing.)
    /// </summary>
    /// <param name="transaction">A transaction the context began (<c>Database.BeginTransaction()</c>).</param>
    /// <returns>The Helix transaction.</returns>
    /// <exception cref="InvalidOperationException">The transaction is not one of a context configured with <c>UseHelix</c>.</exception>
    public static HelixTransaction GetHelixTransaction(this IDbContextTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return transaction is HelixRelationalTransaction routed
            ? routed.Helix
            : throw new InvalidOperationException("This transaction is not Helix's: its context is not configured with UseHelix, so it has no transaction on the strands.");
    }

    private static void ThrowIfNotRouted(DatabaseFacade database)
    {
        ArgumentNullException.ThrowIfNull(database);
        if (database.GetService<IRelationalTransactionFactory>() is not HelixRelationalTransactionFactory)
        {
            throw new InvalidOperationException("This context is not configured with UseHelix, so it has no Helix connection: use Database.GetDbConnection().");
        }
    }

    private static EfSession SessionOf(DatabaseFacade database) =>
        EfSessions.Existing(database.GetDbConnection())
        ?? throw new InvalidOperationException("The context's connection is open, but Helix does not route it: it was opened before the context was configured with UseHelix, or replaced with Database.SetDbConnection.");
}
