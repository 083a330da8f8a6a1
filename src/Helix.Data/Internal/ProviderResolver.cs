using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace Helix.Data.Internal;

/// <summary>
/// Finds the <see cref="DbProviderFactory"/> of an inner provider: <see cref="DbProviderFactories"/> registrations
/// first, then well-known providers loaded by assembly name when the application references them.
/// </summary>
internal static class ProviderResolver
{
    private static readonly (string InvariantName, string FactoryType)[] WellKnown =
    [
        ("Npgsql", "Npgsql.NpgsqlFactory, Npgsql"),
        ("Microsoft.Data.SqlClient", "Microsoft.Data.SqlClient.SqlClientFactory, Microsoft.Data.SqlClient"),
        ("Microsoft.Data.Sqlite", "Microsoft.Data.Sqlite.SqliteFactory, Microsoft.Data.Sqlite"),
        ("MySqlConnector", "MySqlConnector.MySqlConnectorFactory, MySqlConnector"),
    ];

    public static DbProviderFactory Resolve(string invariantName, string key)
    {
        if (string.Equals(invariantName, HelixProviderFactory.InvariantName, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Connection-string key '{key}' names Helix.Data itself; a strand needs a database provider such as Npgsql.", key);
        }

        if (DbProviderFactories.TryGetFactory(invariantName, out var registered))
        {
            return registered;
        }

        foreach (var (name, typeName) in WellKnown)
        {
            if (string.Equals(name, invariantName, StringComparison.OrdinalIgnoreCase) && TryLoad(typeName, out var factory))
            {
                return factory;
            }
        }

        var available = Available();
        throw new ArgumentException(
            $"Connection-string key '{key}' names the provider '{invariantName}', which is not known. "
            + $"Available here: {(available.Count == 0 ? "none" : string.Join(", ", available))}. "
            + "Reference the provider's package, or register it with DbProviderFactories.RegisterFactory(\""
            + invariantName + "\", ...) at startup.",
            key);
    }

    /// <summary>Lists the invariant names that would resolve right now.</summary>
    public static IReadOnlyList<string> Available()
    {
        var names = new List<string>();
        foreach (var name in DbProviderFactories.GetProviderInvariantNames())
        {
            if (!string.Equals(name, HelixProviderFactory.InvariantName, StringComparison.OrdinalIgnoreCase))
            {
                names.Add(name);
            }
        }

        foreach (var (name, typeName) in WellKnown)
        {
            if (!names.Contains(name, StringComparer.OrdinalIgnoreCase) && TryLoad(typeName, out _))
            {
                names.Add(name);
            }
        }

        return names;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2057", Justification = "Well-known providers are loaded only when the application references them.")]
    private static bool TryLoad(string typeName, [NotNullWhen(true)] out DbProviderFactory? factory)
    {
        factory = null;
        Type? type;
        try
        {
            type = Type.GetType(typeName, throwOnError: false);
        }
        catch (Exception e) when (e is FileLoadException or BadImageFormatException)
        {
            return false;
        }

        factory = type?.GetField("Instance", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as DbProviderFactory;
        return factory is not null;
    }
}
