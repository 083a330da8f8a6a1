namespace Helix.Data;

/// <summary>
/// What Helix does with a write whose text calls a function each database evaluates for itself, such as <c>now()</c>,
/// <c>CURRENT_TIMESTAMP</c>, <c>random()</c>, <c>gen_random_uuid()</c>, MySQL's <c>UUID()</c> or <c>nextval()</c>, or
/// that lets each database choose its rows (<c>SKIP LOCKED</c>, <c>LIMIT</c> without <c>ORDER BY</c>), or compares
/// PostgreSQL's <c>xmin</c> (connection-string key <c>Nondeterministic Writes</c>). Each strand stores its own value,
/// and a write replayed to a strand later stores the value of its replay time: the strands hold different rows, and
/// replay cannot reconcile them.
/// Pass such values as parameters instead (a time or a <c>Guid.CreateVersion7()</c> key from the application, or
/// <c>@helix_ts</c>). Only the command's text is read: a column default or a trigger that calls one is not seen.
/// A read of the key the session's last insert generated (<c>SELECT LAST_INSERT_ID()</c>, <c>lastval()</c>) answers
/// with one strand's key: it is logged once (event 3010) unless <see cref="Allow"/>, and never refused.
/// </summary>
public enum HelixNondeterministicWrites
{
    /// <summary>The default: such a write runs, and the first time the data source meets its text it logs a warning (event 3009) naming the call.</summary>
    Warn = 0,

    /// <summary>Such a write is refused with a <see cref="NotSupportedException"/> naming the call, before anything runs.</summary>
    Refuse = 1,

    /// <summary>Such a write runs without a word: for values the application accepts to differ (a row's last-seen time, say).</summary>
    Allow = 2,
}
