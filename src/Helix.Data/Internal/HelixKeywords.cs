using System.Globalization;
using System.Text;

namespace Helix.Data.Internal;

/// <summary>The connection-string keys Helix owns: canonical (spaced) names, compact aliases and value parsers.</summary>
internal static class HelixKeywords
{
    public const string Marker = "Helix";
    public const string Provider = "Provider";
    public const string PrimaryProvider = "Primary Provider";
    public const string SecondaryProvider = "Secondary Provider";
    public const string Primary = "Primary";
    public const string Secondary = "Secondary";
    public const string ReadStrategy = "Read Strategy";
    public const string PreferredStrand = "Preferred Strand";
    public const string StickyCooldown = "Sticky Cooldown";
    public const string WriteStrategy = "Write Strategy";
    public const string Failover = "Failover";
    public const string CircuitThreshold = "Circuit Threshold";
    public const string CircuitReset = "Circuit Reset";
    public const string LatencyCap = "Latency Cap";
    public const string Replay = "Replay";
    public const string ReplayCapacity = "Replay Capacity";
    public const string ReplayWorker = "Replay Worker";
    public const string ReplayFull = "Replay Full";
    public const string StrandNames = "Strand Names";

    /// <summary>Every canonical key, in the order the reference documents them.</summary>
    public static readonly string[] All =
    [
        Provider, PrimaryProvider, SecondaryProvider, Primary, Secondary, ReadStrategy, PreferredStrand, StickyCooldown,
        WriteStrategy, Failover, CircuitThreshold, CircuitReset, LatencyCap, Replay, ReplayCapacity, ReplayWorker,
        ReplayFull, StrandNames,
    ];

    private static readonly Dictionary<string, string> Canonical = BuildCanonical();

    private static Dictionary<string, string> BuildCanonical()
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var key in All)
        {
            map[key] = key;
            map[key.Replace(" ", string.Empty, StringComparison.Ordinal)] = key;
        }

        return map;
    }

    /// <summary>Maps a key or its alias to the canonical key; <see langword="null"/> when Helix does not own it.</summary>
    public static string? ToCanonical(string key) => Canonical.TryGetValue(key.Trim(), out var canonical) ? canonical : null;

    /// <summary>Parses and validates a value of a Helix key, returning its normalized text.</summary>
    public static string Normalize(string key, object? value)
    {
        var text = Convert.ToString(value, CultureInfo.InvariantCulture)?.Trim() ?? string.Empty;
        switch (key)
        {
            case Provider or PrimaryProvider or SecondaryProvider:
                return RequireText(key, text, "the invariant name of an ADO.NET provider, e.g. Npgsql");
            case Primary or Secondary:
                return text; // validated by the inner provider; never echoed, it may hold a password
            case ReadStrategy:
                return ParseEnum<HelixReadStrategy>(key, text).ToString();
            case PreferredStrand:
                return ParseEnum<HelixStrand>(key, text).ToString();
            case WriteStrategy:
                return ParseEnum<HelixWriteStrategy>(key, text).ToString();
            case Failover:
                return ParseEnum<HelixFailover>(key, text).ToString();
            case ReplayFull:
                return ParseEnum<HelixReplayFullPolicy>(key, text).ToString();
            case StickyCooldown:
                return ParseInt(key, text, 0, "a whole number of seconds, 0 or more").ToString(CultureInfo.InvariantCulture);
            case CircuitReset:
                return ParseInt(key, text, 1, "a whole number of seconds, 1 or more").ToString(CultureInfo.InvariantCulture);
            case LatencyCap:
                return ParseInt(key, text, 1, "a whole number of milliseconds, 1 or more").ToString(CultureInfo.InvariantCulture);
            case CircuitThreshold or ReplayCapacity:
                return ParseInt(key, text, 1, "a whole number, 1 or more").ToString(CultureInfo.InvariantCulture);
            case ReplayWorker:
                return ParseBool(key, text) ? "true" : "false";
            case Replay:
                return ReplayTarget.Parse(text).ToString();
            case StrandNames:
                var (first, second) = ParseStrandNames(text);
                return first + "," + second;
            default:
                throw new ArgumentException($"'{key}' is not a Helix connection-string key.", nameof(key));
        }
    }

    public static int ParseInt(string key, string text, int minimum, string allowed) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= minimum
            ? value
            : throw Invalid(key, text, allowed);

    public static bool ParseBool(string key, string text) => text.ToUpperInvariant() switch
    {
        "TRUE" or "YES" or "1" => true,
        "FALSE" or "NO" or "0" => false,
        _ => throw Invalid(key, text, "true or false"),
    };

    public static TEnum ParseEnum<TEnum>(string key, string text)
        where TEnum : struct, Enum
    {
        var compact = text.Replace("-", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal);
        foreach (var name in Enum.GetNames<TEnum>())
        {
            if (string.Equals(name, compact, StringComparison.OrdinalIgnoreCase) && compact.Length > 0)
            {
                return Enum.Parse<TEnum>(name);
            }
        }

        var allowed = string.Join(", ", Enum.GetNames<TEnum>().Select(n => n == Kebab(n) ? n : $"{n} ({Kebab(n)})"));
        throw Invalid(key, text, "one of " + allowed + " (case-insensitive)");
    }

    public static (string First, string Second) ParseStrandNames(string text)
    {
        const string Allowed = "two different names separated by a comma, each made of letters, digits and '_' (e.g. east,west)";
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !IsValidStrandName(parts[0]) || !IsValidStrandName(parts[1])
            || string.Equals(parts[0], parts[1], StringComparison.OrdinalIgnoreCase))
        {
            throw Invalid(StrandNames, text, Allowed);
        }

        return (parts[0], parts[1]);
    }

    public static bool IsValidStrandName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    public static ArgumentException Missing(string key, string message) => new(message, key);

    public static ArgumentException Invalid(string key, string value, string allowed) =>
        new($"Connection-string key '{key}' has the value '{value}', which is not allowed; expected {allowed}.", key);

    private static string RequireText(string key, string text, string allowed) =>
        text.Length > 0 ? text : throw Invalid(key, text, allowed);

    private static string Kebab(string pascal)
    {
        var builder = new StringBuilder(pascal.Length + 4);
        foreach (var c in pascal)
        {
            if (char.IsUpper(c) && builder.Length > 0)
            {
                builder.Append('-');
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }
}
