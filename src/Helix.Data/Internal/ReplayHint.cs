using System.Text.RegularExpressions;
using Helix.Data.Replay;

namespace Helix.Data.Internal;

/// <summary>
/// Reads a replay priority written into a statement's text as a comment, <c>/* helix:priority=low */</c>, for code that
/// cannot reach the command object (Dapper). Read only when a write is recorded for replay, never on the way to a strand.
/// </summary>
internal static partial class ReplayHint
{
    public static HelixReplayPriority PriorityOf(string commandText) =>
        commandText.Contains("helix:priority", StringComparison.OrdinalIgnoreCase) && Hint().Match(commandText) is { Success: true } match
            && match.Groups[1].Value.Equals("low", StringComparison.OrdinalIgnoreCase)
            ? HelixReplayPriority.Low
            : HelixReplayPriority.High;

    [GeneratedRegex(@"/\*\s*helix:priority\s*=\s*(low|high)\s*\*/", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Hint();
}
