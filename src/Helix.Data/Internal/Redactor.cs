using System.Data.Common;

namespace Helix.Data.Internal;

/// <summary>Removes secrets from connection strings before they reach logs, exceptions or <c>ToString()</c>.</summary>
internal static class Redactor
{
    private const string Mask = "***";

    public static bool IsSecretKey(string key) =>
        key.Contains("password", StringComparison.OrdinalIgnoreCase)
        || key.Equals("pwd", StringComparison.OrdinalIgnoreCase)
        || key.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || key.Contains("token", StringComparison.OrdinalIgnoreCase)
        || key.Equals("account key", StringComparison.OrdinalIgnoreCase)
        || key.Equals("accountkey", StringComparison.OrdinalIgnoreCase);

    /// <summary>Returns the connection string with every secret value masked, nested strings included.</summary>
    public static string Redact(string? connectionString)
    {
        if (string.IsNullOrEmpty(connectionString))
        {
            return string.Empty;
        }

        DbConnectionStringBuilder parsed;
        try
        {
            parsed = new DbConnectionStringBuilder { ConnectionString = connectionString };
        }
        catch (ArgumentException)
        {
            // Unparseable text may hold a secret anywhere: show nothing of it.
            return "(unparseable connection string)";
        }

        var result = new DbConnectionStringBuilder();
        foreach (string key in parsed.Keys)
        {
            var value = parsed[key] as string;
            result[key] = IsSecretKey(key) ? Mask
                : value is not null && value.Contains('=', StringComparison.Ordinal) ? Redact(value)
                : parsed[key];
        }

        return result.ConnectionString;
    }
}
