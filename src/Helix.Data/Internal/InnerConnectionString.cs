using System.Data.Common;

namespace Helix.Data.Internal;

/// <summary>Builds a strand's inner connection string: its own string plus the shared keys it does not set itself.</summary>
internal static class InnerConnectionString
{
    /// <param name="factory">The strand's provider.</param>
    /// <param name="providerName">The provider's invariant name, for messages.</param>
    /// <param name="strandKey"><c>Primary</c> or <c>Secondary</c>, for messages.</param>
    /// <param name="inner">The strand's own connection string.</param>
    /// <param name="shared">Keys Helix does not own, passed to both strands.</param>
    public static string Build(DbProviderFactory factory, string providerName, string strandKey, string inner, IReadOnlyList<KeyValuePair<string, object>> shared)
    {
        var builder = factory.CreateConnectionStringBuilder() ?? new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = inner;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new ArgumentException(
                $"Connection-string key '{strandKey}' holds a connection string that the provider '{providerName}' rejects: {e.Message}", strandKey, e);
        }

        if (shared.Count == 0)
        {
            return builder.ConnectionString;
        }

        var ownKeys = KeysOf(builder.ConnectionString);
        foreach (var (key, value) in shared)
        {
            try
            {
                if (!ownKeys.Contains(CanonicalKey(factory, key, value)))
                {
                    builder[key] = value;
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
            {
                throw new ArgumentException(
                    $"Connection-string key '{key}' is not a Helix key, so it is passed to the {strandKey.ToLowerInvariant()} strand, "
                    + $"whose provider '{providerName}' rejects it: {e.Message.TrimEnd('.')}. Helix keys are: {string.Join(", ", HelixKeywords.All)}.",
                    key,
                    e);
            }
        }

        return builder.ConnectionString;
    }

    // The provider's own builder spells every synonym of a key one way (Npgsql: "User ID" -> "Username"), so setting the
    // key alone and reading back the generated string gives the spelling to compare with.
    private static string CanonicalKey(DbProviderFactory factory, string key, object value)
    {
        var single = factory.CreateConnectionStringBuilder() ?? new DbConnectionStringBuilder();
        single[key] = value;
        var keys = KeysOf(single.ConnectionString);
        return keys.Count == 1 ? keys.First() : key;
    }

    private static HashSet<string> KeysOf(string connectionString)
    {
        var plain = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string key in plain.Keys)
        {
            keys.Add(key);
        }

        return keys;
    }
}
