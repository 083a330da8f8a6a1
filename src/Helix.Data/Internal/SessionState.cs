namespace Helix.Data.Internal;

/// <summary>
/// Statements that change a connection's session (contract section 4, amendment 26): <c>SET</c> and <c>RESET</c> of a
/// setting, <c>SET LOCAL</c> too, MySQL's user variables (<c>SET @x</c>), PostgreSQL's <c>set_config</c>. Helix cannot
/// carry such state: a write that a strand misses is replayed to it later on another connection, without it, and the
/// replay worker applies several entries in one transaction, where a <c>SET LOCAL</c> of one would hold for the next.
/// Tried on PostgreSQL: after <c>SET search_path TO tenant</c> a write replayed to the secondary went to <c>public.t</c>
/// instead of <c>tenant.t</c>; after a transaction with <c>SET LOCAL search_path</c>, the write that followed it went to
/// <c>tenant.t</c> on the secondary and to <c>public.t</c> on the primary. The strands diverged with nothing queued.
/// Refused before anything runs, on two strands. A transaction's own <c>SET TRANSACTION</c> and <c>SET CONSTRAINTS</c>
/// pass, and so do settings that change no statement's effect (timeouts, the application name, SQL Server's <c>NOCOUNT</c>).
/// </summary>
internal static class SessionState
{
    // Settings that change how long or under which name a statement runs, never what it does to data.
    private static readonly HashSet<string> Harmless = new(StringComparer.Ordinal)
    {
        "STATEMENT_TIMEOUT", "LOCK_TIMEOUT", "IDLE_IN_TRANSACTION_SESSION_TIMEOUT", "APPLICATION_NAME", "NOCOUNT",
    };

    /// <summary>Whether one statement (its words, upper case, with their parenthesis depth) changes the session.</summary>
    public static bool Changes(List<(string Word, int Depth)> words)
    {
        switch (words[0].Word)
        {
            case "RESET":
                return true;
            case "SET":
                var second = words.Count > 1 ? words[1].Word : string.Empty;
                var name = second is "SESSION" or "LOCAL" && words.Count > 2 ? words[2].Word : second;
                return second is not ("TRANSACTION" or "CONSTRAINTS") && !Harmless.Contains(name);
            default:
                return words.Exists(static w => w.Word == "SET_CONFIG");
        }
    }

    /// <summary>Refuses a command that changes the session, on two strands; nothing has run.</summary>
    public static void ThrowIfChanged(in SqlTextInfo text)
    {
        if (text.ChangesSession)
        {
            throw new NotSupportedException(
                "This command changes the connection's session (SET, SET LOCAL, RESET, set_config), which Helix cannot carry to both strands: a write a strand misses is replayed to it later on another connection, without the setting, in a transaction shared with other writes (a SET search_path would send writes to another schema). "
                + "Put the setting in each strand's connection string (Npgsql: Search Path=..., Timezone=..., Options=-c name=value), or qualify names with their schema. Nothing was run.");
        }
    }
}
