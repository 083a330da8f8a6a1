namespace Helix.Data.Internal;

/// <summary>
/// Calls whose value each database computes for itself (contract section 5, amendment 33): the clock (<c>now()</c>,
/// <c>CURRENT_TIMESTAMP</c>, SQLite's <c>datetime('now')</c>), random numbers and UUIDs, a sequence's next value, the
/// key the database generated last (<c>lastval()</c>, <c>LAST_INSERT_ID()</c>, <c>SCOPE_IDENTITY()</c>); and rows each
/// database chooses for itself (<c>LIMIT</c> or <c>TOP</c> without <c>ORDER BY</c>, <c>SKIP LOCKED</c>, PostgreSQL's
/// system columns <c>xmin</c> and <c>ctid</c>). In a statement that stores rows each strand stores its own value, and a
/// write replayed later the value of its replay time: the strands hold different rows, and no replay reconciles them.
/// Only the statement's text is read: a column default or a trigger that calls one is not seen.
/// </summary>
internal static class NondeterministicCalls
{
    // Values written without parentheses (standard SQL, MySQL); MySQL accepts most with "()" too.
    private static readonly HashSet<string> Niladic = new(StringComparer.Ordinal)
    {
        "CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "LOCALTIMESTAMP", "LOCALTIME", "SYSDATE", "SYSTIMESTAMP",
        "UTC_TIMESTAMP", "UTC_DATE", "UTC_TIME",
    };

    // Functions, known by their parentheses: a column or table named uuid or rand is not a call.
    private static readonly HashSet<string> Functions = new(StringComparer.Ordinal)
    {
        // PostgreSQL
        "NOW", "CLOCK_TIMESTAMP", "STATEMENT_TIMESTAMP", "TRANSACTION_TIMESTAMP", "TIMEOFDAY", "RANDOM", "RANDOM_NORMAL",
        "GEN_RANDOM_UUID", "UUIDV4", "UUIDV7", "UUID_GENERATE_V1", "UUID_GENERATE_V1MC", "UUID_GENERATE_V4", "NEXTVAL",
        "LASTVAL", "CURRVAL",
        // MySQL and MariaDB
        "CURDATE", "CURTIME", "RAND", "UUID", "UUID_SHORT", "SYS_GUID", "LAST_INSERT_ID",
        // SQL Server
        "GETDATE", "GETUTCDATE", "SYSDATETIME", "SYSUTCDATETIME", "SYSDATETIMEOFFSET", "NEWID", "NEWSEQUENTIALID", "CRYPT_GEN_RANDOM",
        "SCOPE_IDENTITY", "IDENT_CURRENT",
        // SQLite
        "RANDOMBLOB", "LAST_INSERT_ROWID",
    };

    // Functions that read the clock only when called without arguments (MySQL's UNIX_TIMESTAMP(), SQLite's unixepoch()).
    private static readonly HashSet<string> ClockWithoutArguments = new(StringComparer.Ordinal) { "UNIX_TIMESTAMP", "UNIXEPOCH" };

    // SQLite's date and time functions, which read the clock when an argument is the text 'now'.
    private static readonly HashSet<string> ClockWithNow = new(StringComparer.Ordinal)
    {
        "DATE", "TIME", "DATETIME", "JULIANDAY", "UNIXEPOCH", "STRFTIME", "TIMEDIFF",
    };

    // Words after which a name followed by "(" is a table and its column list, not a call (INSERT INTO uuid (a) ...).
    // Not FROM: EXTRACT(EPOCH FROM now()) calls now(), and a table name after FROM is never followed by "(".
    private static readonly HashSet<string> BeforeTableNames = new(StringComparer.Ordinal)
    {
        "INTO", "INSERT", "TABLE", "UPDATE", "REFERENCES", "EXISTS", "ONLY",
    };

    /// <summary>
    /// The call that the word just read (<paramref name="words"/>' last, which spans <paramref name="start"/> to
    /// <paramref name="end"/> in <paramref name="text"/>) makes, as written (<c>now()</c>), or <see langword="null"/>.
    /// </summary>
    public static string? Find(string text, int start, int end, List<(string Word, int Depth)> words)
    {
        var word = words[^1].Word;
        if (Niladic.Contains(word))
        {
            return text[start..end];
        }

        if (word == "FOR" && words.Count >= 3 && words[^2].Word == "VALUE" && words[^3].Word == "NEXT")
        {
            return "NEXT VALUE FOR";
        }

        var open = SkipSpaces(text, end);
        if (open >= text.Length || text[open] != '(' || NamesATable(text, start, words))
        {
            return null;
        }

        var arguments = Arguments(text, open);
        var isCall = Functions.Contains(word)
            || (ClockWithoutArguments.Contains(word) && arguments.IsWhiteSpace())
            || (ClockWithNow.Contains(word) && arguments.Contains("'now'", StringComparison.OrdinalIgnoreCase));
        return !isCall ? null
            : ClockWithNow.Contains(word) && !arguments.IsWhiteSpace() ? text[start..end] + "('now')"
            : text[start..end] + "()";
    }

    // Functions that read the key the session's last insert generated: each strand's own, in a read too.
    private static readonly HashSet<string> LastGeneratedKey = new(StringComparer.OrdinalIgnoreCase)
    {
        "LASTVAL", "CURRVAL", "LAST_INSERT_ID", "SCOPE_IDENTITY", "IDENT_CURRENT", "LAST_INSERT_ROWID",
    };

    /// <summary>Whether a call <see cref="Find"/> returned reads the key the session's last insert generated (<c>LAST_INSERT_ID()</c>).</summary>
    public static bool ReadsLastGeneratedKey(string call) => call.EndsWith("()", StringComparison.Ordinal) && LastGeneratedKey.Contains(call[..^2]);

    /// <summary>
    /// A PostgreSQL system column a statement (its words, upper case) names, as <c>xmin (a PostgreSQL system column)</c>:
    /// each server's own transaction id of a row version (<c>xmin</c>, <c>xmax</c>) or its physical place (<c>ctid</c>),
    /// so that <c>WHERE xmin = @seen</c> matches the row on the strand it was read from only, and <c>WHERE a.ctid &lt;
    /// b.ctid</c> picks another row on each. <see langword="null"/> when there is none. Other databases allow columns of
    /// these names (a bounding box's <c>xmin</c>): <see cref="NondeterministicWriteCheck"/> counts them on PostgreSQL only.
    /// </summary>
    public static string? SystemColumn(List<(string Word, int Depth)> words)
    {
        foreach (var (word, _) in words)
        {
            if (word is "XMIN" or "XMAX" or "CTID")
            {
                return word.ToLowerInvariant() + SystemColumnSuffix;
            }
        }

        return null;
    }

    /// <summary>How <see cref="SystemColumn"/> ends what it found.</summary>
    public const string SystemColumnSuffix = " (a PostgreSQL system column)";

    /// <summary>
    /// The clause by which a statement (its words, upper case, with their parenthesis depth) lets each database choose
    /// its rows: <c>SKIP LOCKED</c> (each server skips the rows its own sessions lock), or a row limit (<c>LIMIT</c>,
    /// <c>TOP</c>, <c>FETCH FIRST</c>) with no <c>ORDER BY</c> in its query (each server returns the rows it finds
    /// first); <see langword="null"/> when there is none.
    /// </summary>
    public static string? ChosenRows(List<(string Word, int Depth)> words)
    {
        for (var i = 0; i < words.Count; i++)
        {
            var (word, depth) = words[i];
            var next = i + 1 < words.Count ? words[i + 1].Word : null;
            if (word == "SKIP" && next == "LOCKED")
            {
                return "SKIP LOCKED";
            }

            var limit = word is "LIMIT" or "TOP" || (word == "FETCH" && next is "FIRST" or "NEXT");
            if (limit && !OrderedBefore(words, i, depth))
            {
                return (word == "FETCH" ? "FETCH " + next : word) + " without ORDER BY";
            }
        }

        return null;
    }

    /// <summary>Whether an <c>ORDER BY</c> of the same query (same depth, no shallower word between) comes before word <paramref name="index"/>.</summary>
    private static bool OrderedBefore(List<(string Word, int Depth)> words, int index, int depth)
    {
        for (var i = index - 1; i >= 0 && words[i].Depth >= depth; i--)
        {
            if (words[i].Depth == depth && words[i].Word == "ORDER" && i + 1 < words.Count && words[i + 1].Word == "BY")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a statement (its words, upper case) stores rows or a column default, where a call's value would be kept.</summary>
    public static bool Stored(List<(string Word, int Depth)> words)
    {
        var (first, depth) = words[0];
        return first switch
        {
            "INSERT" or "UPDATE" or "DELETE" or "MERGE" or "UPSERT" or "REPLACE" or "CALL" or "EXEC" or "EXECUTE" => true,
            "CREATE" or "ALTER" => words.Take(5).Any(static w => w.Word == "TABLE"),
            "SELECT" => words.Exists(w => w.Word == "INTO" && w.Depth == depth),
            "WITH" => words.Exists(w => (w.Word == "INTO" && w.Depth == depth) || w.Word is "INSERT" or "UPDATE" or "DELETE" or "MERGE"),
            _ => false,
        };
    }

    private static bool NamesATable(string text, int start, List<(string Word, int Depth)> words)
    {
        // Skip the schema of a qualified name (INSERT INTO app.uuid (a) ...).
        var before = words.Count - 2;
        if (start > 0 && text[start - 1] == '.')
        {
            before--;
        }

        return before >= 0 && BeforeTableNames.Contains(words[before].Word);
    }

    private static int SkipSpaces(string text, int position)
    {
        while (position < text.Length && char.IsWhiteSpace(text[position]))
        {
            position++;
        }

        return position;
    }

    /// <summary>The text between the parenthesis at <paramref name="open"/> and the one that closes it (or the end).</summary>
    private static ReadOnlySpan<char> Arguments(string text, int open)
    {
        var depth = 0;
        for (var i = open; i < text.Length; i++)
        {
            depth += text[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (depth == 0)
            {
                return text.AsSpan(open + 1, i - open - 1);
            }
        }

        return text.AsSpan(open + 1);
    }
}
