using System.Collections.Concurrent;
using Helix.Data.Logging;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal;

/// <summary>
/// Applies <c>Nondeterministic Writes</c> (contract amendment 33) to a write on two strands whose text calls a function
/// each database evaluates for itself (<see cref="NondeterministicCalls"/>): logs its text the first time, refuses it,
/// or lets it be.
/// </summary>
/// <param name="mode">What to do with such a write.</param>
/// <param name="logger">Where warnings go.</param>
/// <param name="postgres">Whether a strand is PostgreSQL, where <c>xmin</c> and <c>ctid</c> are system columns (elsewhere a user's).</param>
internal sealed class NondeterministicWriteCheck(HelixNondeterministicWrites mode, ILogger logger, bool postgres)
{
    // Texts already warned about; past this many, further texts are not logged (an application that builds its SQL with
    // values in it would otherwise fill memory and the log).
    private const int MaxWarnedTexts = 1024;
    private readonly ConcurrentDictionary<string, byte> _warned = new(StringComparer.Ordinal);

    /// <summary>
    /// Logs, once per text, a read on two strands of the key the session's last insert generated (amendment 36): it
    /// answers with one strand's key. Never refused: the insert before it has run already.
    /// </summary>
    public void CheckLastGeneratedKeyRead(string call, string commandText)
    {
        if (mode != HelixNondeterministicWrites.Allow && FirstSeen(commandText))
        {
            Log.LastGeneratedKeyRead(logger, call, commandText);
        }
    }

    /// <summary>Checks a write about to run on two strands, whose text makes <paramref name="call"/>; throws when refused, before anything runs.</summary>
    public void Check(string call, string commandText)
    {
        if (!postgres && call.EndsWith(NondeterministicCalls.SystemColumnSuffix, StringComparison.Ordinal))
        {
            return;
        }

        switch (mode)
        {
            case HelixNondeterministicWrites.Allow:
                return;
            case HelixNondeterministicWrites.Refuse:
                throw new NotSupportedException(
                    $"This write uses {call}, which each strand evaluates for itself: the strands would store different values or change different rows (and a write replayed to a strand later, those of its replay time), which no replay reconciles. "
                    + "Pass the value as a parameter instead: a time or a key the application makes (Guid.CreateVersion7()), or @helix_ts, which Helix binds to the same value on every strand; choose rows by key, or ORDER BY a unique key; for optimistic concurrency, a version column the application sets. "
                    + "'Nondeterministic Writes=Refuse' refuses such writes; Warn runs them and logs each text once, Allow runs them silently. Nothing was run.");
            default:
                if (FirstSeen(commandText))
                {
                    Log.NondeterministicWrite(logger, call, commandText);
                }

                return;
        }
    }

    /// <summary>Whether a text is warned about for the first time (and is one of the first <see cref="MaxWarnedTexts"/>).</summary>
    private bool FirstSeen(string commandText) => _warned.Count < MaxWarnedTexts && _warned.TryAdd(commandText, 0);
}
