using System.Data.Common;

namespace Helix.Data.Internal;

/// <summary>
/// Helix and ambient <c>System.Transactions</c> transactions (a <c>TransactionScope</c>). A provider that takes part in
/// them (Npgsql, SqlClient, MySqlConnector) enlists each connection it opens inside a scope, so the two strands'
/// connections would be two resources of one transaction: its commit is then a two-phase one across two servers
/// (PostgreSQL refuses it unless prepared transactions are enabled, and aborts the scope after every write seemed to
/// succeed), and a write queued for a strand that was down would be replayed even when the scope rolls back. So a
/// write under a scope is refused before it runs on any strand when a strand's connections would enlist. A provider
/// that ignores ambient transactions (Microsoft.Data.Sqlite) is left to do so, as it does without Helix.
/// </summary>
internal static class AmbientTransactions
{
    // The keywords by which providers turn their enlisting off: Npgsql's and SqlClient's, MySqlConnector's.
    private static readonly string[] EnlistKeywords = ["Enlist", "AutoEnlist", "Auto Enlist"];

    /// <summary>
    /// Whether connections like <paramref name="connection"/>, of <paramref name="connectionString"/>, enlist in an
    /// ambient transaction as they open: the provider takes part in System.Transactions (its connection overrides
    /// <see cref="DbConnection.EnlistTransaction"/>, which by default refuses) and the string does not turn it off.
    /// </summary>
    public static bool Enlist(DbConnection connection, string? connectionString)
    {
        var method = connection.GetType().GetMethod(nameof(DbConnection.EnlistTransaction), [typeof(System.Transactions.Transaction)]);
        if (method is null || method.DeclaringType == typeof(DbConnection))
        {
            return false;
        }

        var settings = new DbConnectionStringBuilder { ConnectionString = connectionString ?? string.Empty };
        return !EnlistKeywords.Any(keyword => settings.TryGetValue(keyword, out var value) && bool.TryParse(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture), out var on) && !on);
    }

    /// <summary>Refuses a write under an ambient transaction when a strand's connections would enlist in it; nothing has run yet.</summary>
    /// <exception cref="NotSupportedException">There is an ambient transaction and a strand's provider would enlist in it.</exception>
    /// <remarks>
    /// The strands are asked first: <c>Transaction.Current</c> throws inside a scope already completed and not yet
    /// disposed, where a provider that ignores ambient transactions writes as it always does.
    /// </remarks>
    public static void ThrowIfWriteWouldEnlist(HelixDataSource dataSource)
    {
        if (Array.Find(dataSource.Strands, static s => s.EnlistsInAmbientTransactions) is not { } strand || System.Transactions.Transaction.Current is null)
        {
            return;
        }

        throw new NotSupportedException(
            $"Helix cannot write inside an ambient System.Transactions transaction (a TransactionScope): strand {strand.Name}'s provider ({strand.ProviderName}) would enlist its connection, "
            + "and one transaction over two independent databases needs a two-phase commit across both servers, which PostgreSQL refuses unless prepared transactions are enabled and which a strand's replay could not honour. Nothing was written. "
            + "Use connection.BeginTransaction() and pass the transaction to the commands (Dapper: the transaction argument), or suppress the scope around Helix's commands (TransactionScopeOption.Suppress), "
            + "or add Enlist=false to the strands' connection strings to run them outside the scope, as the provider then does.");
    }
}
