namespace Helix.Data.Internal;

/// <summary>
/// Statements that change a connection's settings (contract section 4, amendments 26 and 43). Helix cannot carry a
/// session's settings (<c>SET</c>, <c>SET SESSION</c>, <c>RESET</c>, MySQL's <c>SET @x</c>, <c>set_config(..., false)</c>):
/// a write that a strand misses is replayed to it later on another connection, without them. Tried on PostgreSQL: after
/// <c>SET search_path TO tenant</c> a write replayed to the secondary went to <c>public.t</c> instead of <c>tenant.t</c>.
/// Refused before anything runs, on two strands. A transaction's own settings (<c>SET LOCAL</c>,
/// <c>set_config(..., true)</c>, as row-level security sets the tenant) end with their transaction: they run on every
/// strand as writes, are part of the transaction's replay entry, and the worker applies such an entry in a transaction
/// of its own. <c>SET TRANSACTION</c> and <c>SET CONSTRAINTS</c> pass, and so do settings that change no statement's
/// effect (timeouts, the application name, SQL Server's <c>NOCOUNT</c>).
/// </summary>
internal static class SessionState
{
    // Settings that change how long or under which name a statement runs, never what it does to data.
    private static readonly HashSet<string> Harmless = new(StringComparer.Ordinal)
    {
        "STATEMENT_TIMEOUT", "LOCK_TIMEOUT", "IDLE_IN_TRANSACTION_SESSION_TIMEOUT", "APPLICATION_NAME", "NOCOUNT",
    };

    /// <summary>How far a statement's settings reach.</summary>
    public enum Reach
    {
        /// <summary>No setting that changes what statements do.</summary>
        None,

        /// <summary>Settings that end with the transaction: <c>SET LOCAL</c>, <c>set_config(..., true)</c>.</summary>
        Transaction,

        /// <summary>Settings that stay with the connection.</summary>
        Session,
    }

    /// <summary>How far one statement's settings reach (its words, upper case, with their parenthesis depth).</summary>
    public static Reach ReachOf(List<(string Word, int Depth)> words)
    {
        switch (words[0].Word)
        {
            case "RESET":
                return Reach.Session;
            case "SET":
                var second = words.Count > 1 ? words[1].Word : string.Empty;
                var name = second is "SESSION" or "LOCAL" && words.Count > 2 ? words[2].Word : second;
                return second is "TRANSACTION" or "CONSTRAINTS" || Harmless.Contains(name) ? Reach.None
                    : second == "LOCAL" ? Reach.Transaction
                    : Reach.Session;
            default:
                return SetConfigReach(words);
        }
    }

    /// <summary>
    /// <c>set_config(name, value, is_local)</c>: transaction-wide when the last word among a call's arguments is the
    /// literal <c>true</c> (a name or value is a string or a parameter, which are not words); anything else counts as the
    /// session's.
    /// </summary>
    private static Reach SetConfigReach(List<(string Word, int Depth)> words)
    {
        var reach = Reach.None;
        for (var i = 0; i < words.Count; i++)
        {
            if (words[i].Word != "SET_CONFIG")
            {
                continue;
            }

            string? last = null;
            for (var j = i + 1; j < words.Count && words[j].Depth > words[i].Depth; j++)
            {
                last = words[j].Depth == words[i].Depth + 1 ? words[j].Word : last;
            }

            if (last != "TRUE")
            {
                return Reach.Session;
            }

            reach = Reach.Transaction;
        }

        return reach;
    }

    /// <summary>
    /// Refuses a command that changes the session, on two strands, and one that sets something for its transaction unless
    /// every strand is PostgreSQL (<paramref name="transactionSettingsEnd"/>): MySQL's <c>SET LOCAL</c> is the session's.
    /// Nothing has run.
    /// </summary>
    public static void ThrowIfChanged(in SqlTextInfo text, bool transactionSettingsEnd)
    {
        if (text.ChangesSession || text.SetsTransactionLocal && !transactionSettingsEnd)
        {
            throw new NotSupportedException(
                "This command changes the connection's session (SET, RESET, set_config(..., false)), which Helix cannot carry to both strands: a write a strand misses is replayed to it later on another connection, without the setting (a SET search_path would send writes to another schema). "
                + "Put the setting in each strand's connection string (Npgsql: Search Path=..., Timezone=..., Options=-c name=value), or qualify names with their schema"
                + (transactionSettingsEnd ? ", or set it for one transaction (SET LOCAL, set_config(..., true)), which Helix carries. " : ". ")
                + "Nothing was run.");
        }
    }
}
