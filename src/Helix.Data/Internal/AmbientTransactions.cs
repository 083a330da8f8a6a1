using System.Data.Common;

namespace Helix.Data.Internal;

/// <summary>
/// Helix and ambient <c>System.Transactions</c> transactions (a <c>TransactionScope</c>). A provider that takes part in
/// them (Npgsql, SqlClient, MySqlConnector) enlists each connection it opens inside a scope; over two strands that would
/// make the two servers two resources of one transaction, whose commit is a two-phase one across both (PostgreSQL refuses
/// it unless prepared transactions are enabled) and which a strand's replay could not honour. So Helix takes the scope's
/// part itself: its strands' connections open outside the scope (<see cref="Suppress"/>), and a Helix connection opened in
/// the scope runs in a <see cref="HelixTransaction"/> that commits or rolls back with it (<see cref="AmbientEnlistment"/>).
/// Strands whose provider ignores ambient transactions (Microsoft.Data.Sqlite), or whose strings turn enlisting off, are
/// left to do so, as without Helix.
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

    /// <summary>
    /// The ambient transaction, or <see langword="null"/>; also inside a scope that was completed and not yet disposed,
    /// where <c>Transaction.Current</c> throws (a provider opening there throws the same, as without Helix).
    /// </summary>
    public static System.Transactions.Transaction? Current()
    {
        try
        {
            return System.Transactions.Transaction.Current;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// A scope that hides the ambient transaction from a strand's provider while Helix opens one of its connections
    /// (providers enlist as they open), or <see langword="null"/> when Helix does not take the scope's part on
    /// <paramref name="dataSource"/> or there is none. Make it before the connection object (the first call asks a
    /// connection object of each strand's provider), and dispose it once the open has started.
    /// </summary>
    public static System.Transactions.TransactionScope? Suppress(HelixDataSource dataSource) =>
        dataSource.TakesAmbientTransactions && Current() is not null ? Outside() : null; // Current costs about 1 % of a read: asked only where it matters

    /// <summary>A scope in which no ambient transaction is seen (for Helix's own probes of a provider).</summary>
    public static System.Transactions.TransactionScope Outside() =>
        new(System.Transactions.TransactionScopeOption.Suppress, System.Transactions.TransactionScopeAsyncFlowOption.Enabled);
}
