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
    public const string ReplayMemoryLimit = "Replay Memory Limit";
    public const string StaleReads = "Stale Reads";
    public const string NondeterministicWrites = "Nondeterministic Writes";
    public const string ReplayWorker = "Replay Worker";
    public const string ReplayFull = "Replay Full";
    public const string StrandNames = "Strand Names";
    public const string Name = "Name";
    public const string PersistSecurityInfo = "Persist Security Info";
    public const string Failback = "Failback";
    public const string WriteOrder = "Write Order";
    public const string AdaptiveDelta = "Adaptive Delta";
    public const string AdaptiveStrikes = "Adaptive Strikes";
    public const string AdaptiveCap = "Adaptive Cap";
    public const string AdaptiveFloor = "Adaptive Floor";
    public const string AdaptiveRecovery = "Adaptive Recovery";
    public const string ReplayBatchSize = "Replay Batch Size";
    public const string ReplayRate = "Replay Rate";
    public const string ReplayMaxAttempts = "Replay Max Attempts";
    public const string ReplayBackoff = "Replay Backoff";
    public const string ReplayBackoffMax = "Replay Backoff Max";
    public const string ReplayPollInterval = "Replay Poll Interval";
    public const string HealingWait = "Healing Wait";
    public const string InDoubtTimeout = "In Doubt Timeout";
    public const string ProbeCommand = "Probe Command";
    public const string ReplayPriorityRatio = "Replay Priority Ratio";
    public const string ReplayStrictPriority = "Replay Strict Priority";
    public const string DrainWatch = "Drain Watch";
    public const string DrainBucket = "Drain Bucket";
    public const string StrandRetry = "Strand Retry";
    public const string StrandRetryDelay = "Strand Retry Delay";
    public const string HedgeAfter = "Hedge After";

    /// <summary>Every canonical key, in the order the reference documents them.</summary>
    public static readonly string[] All =
    [
        Provider, PrimaryProvider, SecondaryProvider, Primary, Secondary, StrandNames, Name, PersistSecurityInfo,
        ReadStrategy, PreferredStrand, StickyCooldown, Failback, StaleReads, Failover, CircuitThreshold, CircuitReset, LatencyCap,
        StrandRetry, StrandRetryDelay, HedgeAfter,
        WriteStrategy, WriteOrder, NondeterministicWrites, AdaptiveDelta, AdaptiveStrikes, AdaptiveCap, AdaptiveFloor, AdaptiveRecovery,
        Replay, ReplayMemoryLimit, ReplayCapacity, ReplayWorker, ReplayFull, ReplayBatchSize, ReplayRate, ReplayMaxAttempts, ReplayBackoff,
        ReplayBackoffMax, ReplayPollInterval, HealingWait, InDoubtTimeout, ProbeCommand, ReplayPriorityRatio,
        ReplayStrictPriority, DrainWatch, DrainBucket,
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
                // Validated by the inner provider; never echoed, it may hold a password. A blank one is refused here, where
                // the key can still be named (an inner provider would complain about its own missing key instead).
                return text.Length > 0 ? text : throw EmptyStrand(key);
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
            case Failback:
                return ParseEnum<HelixFailback>(key, text).ToString();
            case StaleReads:
                return ParseEnum<HelixStaleReads>(key, text).ToString();
            case NondeterministicWrites:
                return ParseEnum<HelixNondeterministicWrites>(key, text).ToString();
            case ReplayMemoryLimit:
                _ = ParseBytes(key, text);
                return text.Replace(" ", string.Empty, StringComparison.Ordinal).ToUpperInvariant();
            case WriteOrder:
                return ParseEnum<Strategies.HelixWriteOrder>(key, text) is var order and not Strategies.HelixWriteOrder.Concurrent
                    ? order.ToString()
                    : throw Invalid(key, text, "PrimaryFirst (primary-first) or SecondaryFirst (secondary-first)");
            case StrandRetry:
                return ParseInt(key, text, 0, "a whole number of retries, 0 (none) or more").ToString(CultureInfo.InvariantCulture);
            case HedgeAfter:
                return ParseHedgeAfter(text);
            case StickyCooldown:
                return ParseInt(key, text, 0, "a whole number of seconds, 0 or more").ToString(CultureInfo.InvariantCulture);
            case CircuitReset or InDoubtTimeout:
                return ParseInt(key, text, 1, "a whole number of seconds, 1 or more").ToString(CultureInfo.InvariantCulture);
            case LatencyCap or StrandRetryDelay or AdaptiveDelta or AdaptiveCap or ReplayBackoff or ReplayBackoffMax or ReplayPollInterval:
                return ParseInt(key, text, 1, "a whole number of milliseconds, 1 or more").ToString(CultureInfo.InvariantCulture);
            case AdaptiveFloor or HealingWait:
                return ParseInt(key, text, 0, "a whole number of milliseconds, 0 or more").ToString(CultureInfo.InvariantCulture);
            case ReplayRate:
                return ParseInt(key, text, 1, "a whole number of entries per second, 1 or more (leave the key out for no limit)").ToString(CultureInfo.InvariantCulture);
            case CircuitThreshold or ReplayCapacity or AdaptiveStrikes or AdaptiveRecovery or ReplayBatchSize or ReplayMaxAttempts or ReplayPriorityRatio:
                return ParseInt(key, text, 1, "a whole number, 1 or more").ToString(CultureInfo.InvariantCulture);
            case ReplayWorker or ReplayStrictPriority or PersistSecurityInfo:
                return ParseBool(key, text) ? "true" : "false";
            case Name:
                return IsValidStrandName(text) ? text : throw Invalid(key, text, "a name made of letters, digits and '_' (it tags metrics and traces)");
            case ProbeCommand:
                return RequireText(key, text, "a statement that any reachable database of the provider answers, e.g. SELECT 1");
            case DrainBucket:
                return text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')
                    ? text
                    : throw Invalid(key, text, "a NATS key-value bucket name: letters, digits, '_' and '-'");
            case DrainWatch:
                return text.StartsWith("nats://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("tls://", StringComparison.OrdinalIgnoreCase)
                    ? (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Host.Length > 0 ? text : throw Invalid(key, text, "nats://host:port"))
                    : throw Invalid(key, text, "nats://host:port (a NATS server whose key-value bucket drains strands across a fleet)");
            case Replay:
                return ReplayTarget.Parse(text).ToString();
            case StrandNames:
                var (first, second) = ParseStrandNames(text);
                return first + "," + second;
            default:
                throw new ArgumentException($"'{key}' is not a Helix connection-string key.", nameof(key));
        }
    }

    /// <summary>Parses <c>Hedge After</c>: <c>Off</c>, <c>Auto</c> or a whole number of milliseconds (1 or more).</summary>
    public static string ParseHedgeAfter(string text) => text.ToUpperInvariant() switch
    {
        "OFF" or "" => "Off",
        "AUTO" => "Auto",
        _ => ParseInt(HedgeAfter, text, 1, "Off, Auto (the strand's recent 95th-percentile read time) or a whole number of milliseconds, 1 or more").ToString(CultureInfo.InvariantCulture),
    };

    public static int ParseInt(string key, string text, int minimum, string allowed) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= minimum
            ? value
            : throw Invalid(key, text, allowed);

    /// <summary>Parses a size: a whole number of bytes, or one with a unit KB, MB or GB (powers of 1024; KiB, MiB, GiB too).</summary>
    public static long ParseBytes(string key, string text)
    {
        const string Allowed = "a size such as 256MB, 1GB or 65536 (bytes; KB, MB and GB are powers of 1024), at least 1KB";
        var compact = text.Replace(" ", string.Empty, StringComparison.Ordinal).ToUpperInvariant();
        var digits = compact.TakeWhile(char.IsAsciiDigit).Count();
        var unit = compact[digits..] switch
        {
            "" or "B" => 1L,
            "KB" or "KIB" or "K" => 1L << 10,
            "MB" or "MIB" or "M" => 1L << 20,
            "GB" or "GIB" or "G" => 1L << 30,
            _ => 0L,
        };
        return digits > 0 && unit > 0 && long.TryParse(compact[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            && number <= long.MaxValue / unit && number * unit >= 1024
            ? number * unit
            : throw Invalid(key, text, Allowed);
    }

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

        var allowed = string.Join(", ", Enum.GetNames<TEnum>().Select(n => string.Equals(n, Kebab(n), StringComparison.OrdinalIgnoreCase) ? n : $"{n} ({Kebab(n)})"));
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

    /// <summary>The error for a <c>Primary</c> or <c>Secondary</c> key written with nothing in it.</summary>
    public static ArgumentException EmptyStrand(string key) => new(
        $"Connection-string key '{key}' is empty; expected the {key.ToLowerInvariant()} strand's own connection string, quoted, e.g. {key}=\"Host=db-a;Database=app\""
        + (key == Secondary ? ", or no 'Secondary' key at all for single-strand mode." : "."),
        key);

    /// <summary>
    /// Throws for a <c>Primary</c> or <c>Secondary</c> key written with an empty value (<c>Secondary=;</c>), which the base
    /// parser drops without a word: a secondary left empty by a missing setting would otherwise run the application on
    /// one strand. Quoted values are skipped as the parser reads them (a doubled quote stands for itself).
    /// </summary>
    public static void ThrowIfStrandLeftEmpty(string connectionString)
    {
        var i = 0;
        while (i < connectionString.Length)
        {
            var equals = connectionString.IndexOf('=', i);
            if (equals < 0)
            {
                return;
            }

            var key = connectionString[i..equals].Trim().TrimStart(';').Trim();
            var start = equals + 1;
            while (start < connectionString.Length && char.IsWhiteSpace(connectionString[start]))
            {
                start++;
            }

            if (start < connectionString.Length && connectionString[start] is '"' or '\'')
            {
                var quote = connectionString[start];
                var end = start + 1;
                while (end < connectionString.Length && !(connectionString[end] == quote && (end + 1 >= connectionString.Length || connectionString[end + 1] != quote)))
                {
                    end += connectionString[end] == quote ? 2 : 1;
                }

                i = connectionString.IndexOf(';', Math.Min(end + 1, connectionString.Length)) is var next and >= 0 ? next + 1 : connectionString.Length;
                continue;
            }

            var semicolon = connectionString.IndexOf(';', start);
            var value = semicolon < 0 ? connectionString[start..] : connectionString[start..semicolon];
            if (value.Trim().Length == 0 && ToCanonical(key) is Primary or Secondary)
            {
                throw EmptyStrand(ToCanonical(key)!);
            }

            i = semicolon < 0 ? connectionString.Length : semicolon + 1;
        }
    }

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
