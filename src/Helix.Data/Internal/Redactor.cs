using System.Data.Common;
using System.Text.RegularExpressions;

namespace Helix.Data.Internal;

/// <summary>Removes secrets from connection strings before they reach logs, exceptions or <c>ToString()</c>.</summary>
internal static partial class Redactor
{
    private const string Mask = "***";

    public static bool IsSecretKey(string key) =>
        key.Contains("password", StringComparison.OrdinalIgnoreCase)
        || key.Equals("pwd", StringComparison.OrdinalIgnoreCase)
        || key.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || key.Contains("token", StringComparison.OrdinalIgnoreCase)
        || key.Contains("jwt", StringComparison.OrdinalIgnoreCase)
        || key.Contains("nkey", StringComparison.OrdinalIgnoreCase)
        || key.Contains("creds", StringComparison.OrdinalIgnoreCase)
        || key.Equals("account key", StringComparison.OrdinalIgnoreCase)
        || key.Equals("accountkey", StringComparison.OrdinalIgnoreCase);

    /// <summary>Returns the connection string with every secret value masked, nested strings and URLs included.</summary>
    public static string Redact(string? connectionString) => Redact(connectionString, out _);

    /// <summary>
    /// Gets a value indicating whether <see cref="Redact(string?)"/> would change anything of the connection string but the
    /// spelling of its keys: a secret value, nested strings and URLs included, or text it cannot parse.
    /// </summary>
    public static bool HasSecrets(string? connectionString)
    {
        _ = Redact(connectionString, out var masked);
        return masked;
    }

    /// <summary>The redacted string; <paramref name="masked"/> says whether it hid anything (a key named secret but left empty hides nothing).</summary>
    private static string Redact(string? connectionString, out bool masked)
    {
        masked = false;
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
            masked = true;
            return "(unparseable connection string)";
        }

        var result = new DbConnectionStringBuilder();
        foreach (string key in parsed.Keys)
        {
            var value = parsed[key] as string;
            if (IsSecretKey(key))
            {
                result[key] = Mask;
                masked |= !string.IsNullOrEmpty(value);
            }
            else if (value is not null && IsUrl(value))
            {
                var shown = RedactUrls(value);
                result[key] = shown;
                masked |= shown != value;
            }
            else if (value is not null && value.Contains('=', StringComparison.Ordinal))
            {
                result[key] = Redact(value, out var nested);
                masked |= nested;
            }
            else
            {
                result[key] = parsed[key];
            }
        }

        return result.ConnectionString;
    }

    /// <summary>
    /// Masks the credentials of every URL in a text (a <c>Replay=nats://user:secret@host</c> value, or an error message that
    /// quotes such a URL): the password of <c>user:password@</c>, a token given as <c>token@</c>, and query values whose
    /// names say they are secret (<c>?token=...</c>).
    /// </summary>
    public static string RedactUrls(string? text)
    {
        if (string.IsNullOrEmpty(text) || !text.Contains("://", StringComparison.Ordinal))
        {
            return text ?? string.Empty;
        }

        var masked = UserInfo().Replace(text, m => m.Groups["password"].Success
            ? $"{m.Groups["scheme"].Value}{m.Groups["user"].Value}:{Mask}@"
            : $"{m.Groups["scheme"].Value}{Mask}@");
        return QuerySecret().Replace(masked, m => IsSecretKey(m.Groups["name"].Value) ? $"{m.Groups["lead"].Value}{m.Groups["name"].Value}={Mask}" : m.Value);
    }

    /// <summary>
    /// The exception to log: <paramref name="error"/> itself, or, when its text quotes a URL with credentials (a queue's
    /// connection error may), a stand-in whose message and <see cref="Exception.ToString"/> are masked, stack trace kept.
    /// </summary>
    public static Exception SafeToLog(Exception error)
    {
        var text = error.ToString();
        var masked = RedactUrls(text);
        return ReferenceEquals(masked, text) || masked == text ? error : new MaskedException(RedactUrls(error.Message), masked);
    }

    private static bool IsUrl(string value) => SchemeStart().IsMatch(value);

    /// <summary>An exception's text with its secrets masked, for a log.</summary>
    private sealed class MaskedException(string message, string text) : Exception(message)
    {
        public override string ToString() => text;
    }

    [GeneratedRegex(@"^\s*[a-zA-Z][a-zA-Z0-9+.\-]*://")]
    private static partial Regex SchemeStart();

    [GeneratedRegex(@"(?<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?<user>[^:/@\s?#]*)(:(?<password>[^/@\s?#]*))?@")]
    private static partial Regex UserInfo();

    [GeneratedRegex(@"(?<lead>[?&])(?<name>[^=&\s#]+)=(?<value>[^&\s#]*)")]
    private static partial Regex QuerySecret();
}
