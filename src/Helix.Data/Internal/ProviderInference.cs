using System.Data.Common;

namespace Helix.Data.Internal;

/// <summary>
/// Picks a strand's inner provider when the connection string names none (<c>Helix;Primary=...;Secondary=...</c>): the
/// only well-known provider the application can use, else the one the strand's own keys belong to. Anything less
/// certain is refused with the candidates named, so that a string never silently runs on the wrong provider.
/// </summary>
internal static class ProviderInference
{
    private const string Npgsql = "Npgsql";
    private const string Sqlite = "Microsoft.Data.Sqlite";
    private const string SqlClient = "Microsoft.Data.SqlClient";
    private const string MySql = "MySqlConnector";

    private static readonly string[] Known = [Npgsql, Sqlite, SqlClient, MySql];

    /// <summary>
    /// Keys (lower case, without spaces or underscores) that only one provider's users write. <c>Host</c> and
    /// <c>Username</c> are weaker: MySqlConnector accepts them too, so they count only when nothing stronger is there.
    /// </summary>
    private static readonly Dictionary<string, string> Distinctive = new(StringComparer.Ordinal)
    {
        ["searchpath"] = Npgsql,
        ["targetsessionattributes"] = Npgsql,
        ["loadbalancehosts"] = Npgsql,
        ["includeerrordetail"] = Npgsql,
        ["initialcatalog"] = SqlClient,
        ["encrypt"] = SqlClient,
        ["trustedconnection"] = SqlClient,
        ["integratedsecurity"] = SqlClient,
        ["trustservercertificate"] = SqlClient,
        ["multipleactiveresultsets"] = SqlClient,
        ["applicationintent"] = SqlClient,
        ["multisubnetfailover"] = SqlClient,
        ["uid"] = MySql,
        ["allowuservariables"] = MySql,
        ["allowpublickeyretrieval"] = MySql,
        ["guidformat"] = MySql,
        ["allowzerodatetime"] = MySql,
        ["convertzerodatetime"] = MySql,
        ["treattinyasboolean"] = MySql,
        ["defaultcommandtimeout"] = MySql,
        ["useaffectedrows"] = MySql,
        ["usecompression"] = MySql,
        ["characterset"] = MySql,
        ["allowloadlocalinfile"] = MySql,
        ["ignoreprepare"] = MySql,
        ["oldguids"] = MySql,
        ["sslca"] = MySql,
        ["foreignkeys"] = Sqlite,
        ["recursivetriggers"] = Sqlite,
        ["cache"] = Sqlite,
    };

    /// <summary>Returns the invariant name of the provider for a strand whose connection string names none.</summary>
    /// <param name="connectionString">The strand's own connection string.</param>
    /// <param name="sharedKeys">The names of the Helix string's keys that every strand gets (<c>Username</c>, ...).</param>
    /// <param name="available">The invariant names the application can use now (<see cref="ProviderResolver.Available"/>).</param>
    /// <param name="key">The connection-string key of the strand, for the error.</param>
    /// <exception cref="ArgumentException">No provider, or several, fit.</exception>
    public static string Infer(string connectionString, IEnumerable<string> sharedKeys, IReadOnlyList<string> available, string key)
    {
        var usable = Known.Where(k => available.Contains(k, StringComparer.OrdinalIgnoreCase)).ToList();
        if (usable.Count == 1)
        {
            return usable[0];
        }

        var candidates = FromKeys(connectionString, sharedKeys);
        if (candidates.Count == 1)
        {
            // The candidates are well-known names: usable holds those the application can use.
            var provider = candidates[0];
            return usable.Contains(provider)
                ? provider
                : throw new ArgumentException(
                    $"The {Strand(key)} strand's connection string has keys of {provider}, which this application does not reference. Reference the {provider} package, or name the provider with 'Provider=' (available here: {Describe(available)}).",
                    key);
        }

        var named = candidates.Count > 1 ? candidates : usable;
        throw HelixKeywords.Missing(
            HelixKeywords.Provider,
            $"Connection-string key 'Provider' is missing, and the {Strand(key)} strand's connection string does not say which provider it is for"
            + (named.Count > 0 ? $" (it could be {string.Join(" or ", named)})" : string.Empty)
            + $". Add 'Provider=' with the inner provider's invariant name, e.g. Provider={(named.Count > 0 ? named[0] : Npgsql)}; available here: {Describe(available)}.");
    }

    /// <summary>The providers whose keys the string has: the distinctive ones, else the weaker ones.</summary>
    private static List<string> FromKeys(string connectionString, IEnumerable<string> sharedKeys)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            return []; // not a connection string this can read: the provider would refuse it anyway, once named
        }

        var keys = builder.Keys.Cast<string>().Concat(sharedKeys).Select(Normalize).ToHashSet(StringComparer.Ordinal);
        var strong = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var k in keys)
        {
            if (Distinctive.TryGetValue(k, out var provider))
            {
                strong.Add(provider);
            }
        }

        if ((Value(builder, "datasource") ?? Value(builder, "filename")) is { } file && IsSqliteFile(file))
        {
            strong.Add(Sqlite);
        }

        switch (Value(builder, "port")?.Trim())
        {
            case "5432":
                strong.Add(Npgsql);
                break;
            case "3306":
                strong.Add(MySql);
                break;
        }

        if (strong.Count > 0)
        {
            return [.. strong];
        }

        // Weaker: Host= is how Npgsql users write the server (MySQL users write Server=); SslMode without spaces is MySqlConnector's spelling.
        var weak = new SortedSet<string>(StringComparer.Ordinal);
        if (keys.Contains("host"))
        {
            weak.Add(Npgsql);
        }

        if (builder.Keys.Cast<string>().Any(k => string.Equals(k, "SslMode", StringComparison.OrdinalIgnoreCase)) && keys.Contains("server"))
        {
            weak.Add(MySql);
        }

        return [.. weak];
    }

    private static bool IsSqliteFile(string value)
    {
        var v = value.Trim();
        return v.Equals(":memory:", StringComparison.OrdinalIgnoreCase)
            || v.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            || v.EndsWith(".db", StringComparison.OrdinalIgnoreCase)
            || v.EndsWith(".db3", StringComparison.OrdinalIgnoreCase)
            || v.EndsWith(".sqlite", StringComparison.OrdinalIgnoreCase)
            || v.EndsWith(".sqlite3", StringComparison.OrdinalIgnoreCase);
    }

    private static string? Value(DbConnectionStringBuilder builder, string normalizedKey)
    {
        foreach (string k in builder.Keys)
        {
            if (Normalize(k) == normalizedKey)
            {
                return builder[k]?.ToString();
            }
        }

        return null;
    }

    private static string Normalize(string key) => key.Replace(" ", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal).ToLowerInvariant();

    private static string Strand(string key) => key.ToLowerInvariant();

    private static string Describe(IReadOnlyList<string> available) => available.Count == 0 ? "none" : string.Join(", ", available);
}
