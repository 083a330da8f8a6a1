using System.ComponentModel;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Helix.Data.Internal;

namespace Helix.Data;

/// <summary>
/// Builds and parses Helix.Data connection strings such as
/// <c>Helix;Provider=Npgsql;Primary="Host=pg-a;Database=app";Secondary="Host=pg-b;Database=app";Username=app</c>.
/// </summary>
/// <remarks>
/// <para>
/// Keys are case-insensitive and each has a spaced form and a compact alias (<c>Read Strategy</c> and
/// <c>ReadStrategy</c>). Enumerated values are case-insensitive and also accepted in kebab-case (<c>primary-only</c>).
/// Every value is validated when it is set: a bad one throws an <see cref="ArgumentException"/> naming the key, the
/// value and what is allowed.
/// </para>
/// <para>
/// Keys Helix does not own (<c>Username</c>, <c>Password</c>, <c>Database</c>, ...) are kept and passed to both inner
/// connection strings, unless an inner string sets the same key itself. A leading bare <c>Helix</c> token is accepted
/// and ignored. <see cref="ToString"/> masks passwords; <see cref="DbConnectionStringBuilder.ConnectionString"/> does not.
/// </para>
/// </remarks>
public sealed partial class HelixConnectionStringBuilder : DbConnectionStringBuilder
{
    /// <summary>Initializes a new, empty instance of the <see cref="HelixConnectionStringBuilder"/> class.</summary>
    public HelixConnectionStringBuilder()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="HelixConnectionStringBuilder"/> class from a connection string.</summary>
    /// <param name="connectionString">A Helix connection string; a leading <c>Helix;</c> token is allowed.</param>
    /// <exception cref="ArgumentException">The string is malformed or a Helix key has an invalid value.</exception>
    public HelixConnectionStringBuilder(string? connectionString)
    {
        try
        {
            var text = StripMarker(connectionString ?? string.Empty);
            HelixKeywords.ThrowIfStrandLeftEmpty(text);
            ConnectionString = text;
        }
        catch (ArgumentException e) when (e.ParamName is null)
        {
            // The base parser's message gives the position only; say what usually causes it, without echoing the
            // string (it may hold a password).
            throw new ArgumentException(
                $"The Helix connection string is malformed: {e.Message} Write key=value pairs separated by ';', and quote values that contain ';' or '=', e.g. Primary=\"Host=a;Database=app\".",
                nameof(connectionString),
                e);
        }
    }

    /// <summary>
    /// Gets or sets the invariant name of the inner ADO.NET provider of both strands (key <c>Provider</c>). When it is not
    /// set, each strand's provider is inferred from what the application references and from the strand's keys.
    /// </summary>
    [Category("Strands")]
    [DisplayName(HelixKeywords.Provider)]
    [Description("Invariant name of the inner ADO.NET provider of both strands, e.g. Npgsql; inferred when not set.")]
    public string? Provider
    {
        get => GetString(HelixKeywords.Provider);
        set => SetOrRemove(HelixKeywords.Provider, value);
    }

    /// <summary>Gets or sets the provider of the primary strand, overriding <see cref="Provider"/> (key <c>Primary Provider</c>).</summary>
    [Category("Strands")]
    [DisplayName(HelixKeywords.PrimaryProvider)]
    [Description("Invariant name of the primary strand's provider; defaults to Provider.")]
    public string? PrimaryProvider
    {
        get => GetString(HelixKeywords.PrimaryProvider);
        set => SetOrRemove(HelixKeywords.PrimaryProvider, value);
    }

    /// <summary>Gets or sets the provider of the secondary strand, overriding <see cref="Provider"/> (key <c>Secondary Provider</c>).</summary>
    [Category("Strands")]
    [DisplayName(HelixKeywords.SecondaryProvider)]
    [Description("Invariant name of the secondary strand's provider; defaults to Provider.")]
    public string? SecondaryProvider
    {
        get => GetString(HelixKeywords.SecondaryProvider);
        set => SetOrRemove(HelixKeywords.SecondaryProvider, value);
    }

    /// <summary>Gets or sets the inner connection string of the primary strand (key <c>Primary</c>; required).</summary>
    [Category("Strands")]
    [DisplayName(HelixKeywords.Primary)]
    [Description("Inner connection string of the primary strand (quote it when it contains ';').")]
    [PasswordPropertyText(true)]
    public string? Primary
    {
        get => GetString(HelixKeywords.Primary);
        set => SetOrRemove(HelixKeywords.Primary, value);
    }

    /// <summary>
    /// Gets or sets the inner connection string of the secondary strand (key <c>Secondary</c>). Without it the data
    /// source runs in single-strand mode: a pure pass-through to the primary.
    /// </summary>
    [Category("Strands")]
    [DisplayName(HelixKeywords.Secondary)]
    [Description("Inner connection string of the secondary strand; omit it for single-strand mode.")]
    [PasswordPropertyText(true)]
    public string? Secondary
    {
        get => GetString(HelixKeywords.Secondary);
        set => SetOrRemove(HelixKeywords.Secondary, value);
    }

    /// <summary>Gets or sets the names of the two strands used in logs and metrics, comma-separated (key <c>Strand Names</c>).</summary>
    /// <value>The default value is <c>primary,secondary</c>.</value>
    [Category("Strands")]
    [DisplayName(HelixKeywords.StrandNames)]
    [DefaultValue(HelixDefaults.StrandNames)]
    public string StrandNames
    {
        get => GetString(HelixKeywords.StrandNames) ?? HelixDefaults.StrandNames;
        set => this[HelixKeywords.StrandNames] = value;
    }

    /// <summary>Gets or sets the data source's name, which tags its metrics and traces (key <c>Name</c>).</summary>
    /// <value>The default value is <c>helix</c>.</value>
    [Category("Strands")]
    [DisplayName(HelixKeywords.Name)]
    [DefaultValue(HelixDefaults.Name)]
    public string Name
    {
        get => GetString(HelixKeywords.Name) ?? HelixDefaults.Name;
        set => this[HelixKeywords.Name] = value;
    }

    /// <summary>
    /// Gets or sets a value indicating whether a <see cref="HelixConnection"/> that has been opened still returns its
    /// passwords and other secrets from <see cref="HelixConnection.ConnectionString"/> (key <c>Persist Security Info</c>).
    /// </summary>
    /// <value>
    /// The default value is <see langword="false"/>: once opened, the connection returns its connection string with the
    /// secrets masked, as Npgsql's, MySqlConnector's and SqlClient's connections do. Helix owns the key; it is not passed
    /// to the strands (each inner string may set its own for its provider).
    /// </value>
    [Category("Strands")]
    [DisplayName(HelixKeywords.PersistSecurityInfo)]
    [DefaultValue(false)]
    public bool PersistSecurityInfo
    {
        get => GetBool(HelixKeywords.PersistSecurityInfo, fallback: false);
        set => this[HelixKeywords.PersistSecurityInfo] = value;
    }

    /// <summary>Gets or sets the value of a key. Helix keys are validated and stored under their canonical spaced name.</summary>
    /// <param name="keyword">A Helix key, one of its aliases, or a key passed to both inner connection strings.</param>
    /// <returns>The value, or <see langword="null"/> for a Helix key that is not set.</returns>
    [AllowNull]
    public override object this[string keyword]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(keyword);
            var canonical = HelixKeywords.ToCanonical(keyword);
            return canonical is null ? base[keyword] : TryGetValue(canonical, out var value) ? value : null!;
        }

        set
        {
            ArgumentNullException.ThrowIfNull(keyword);

            // DbConnectionStringBuilder reads "Helix;Provider=X" as one key "helix;provider": peel the marker off.
            var separator = keyword.IndexOf(';', StringComparison.Ordinal);
            if (separator >= 0 && string.Equals(keyword[..separator].Trim(), HelixKeywords.Marker, StringComparison.OrdinalIgnoreCase))
            {
                keyword = keyword[(separator + 1)..].Trim();
                if (keyword.Length == 0)
                {
                    return;
                }
            }

            if (string.Equals(keyword.Trim(), HelixKeywords.Marker, StringComparison.OrdinalIgnoreCase))
            {
                if (!string.IsNullOrEmpty(value as string))
                {
                    throw HelixKeywords.Missing(HelixKeywords.Marker, "The 'Helix' token marks a Helix connection string and takes no value; write 'Helix;' at the start.");
                }

                return;
            }

            var canonical = HelixKeywords.ToCanonical(keyword);
            if (value is null)
            {
                Remove(canonical ?? keyword);
                return;
            }

            if (canonical is null)
            {
                base[keyword] = value;
                return;
            }

            var normalized = HelixKeywords.Normalize(canonical, value);
            base.Remove(canonical); // an alias may be stored already; keep one spelling
            base[canonical] = normalized;
        }
    }

    /// <inheritdoc />
    public override bool ContainsKey(string keyword)
    {
        ArgumentNullException.ThrowIfNull(keyword);
        return base.ContainsKey(HelixKeywords.ToCanonical(keyword) ?? keyword);
    }

    /// <inheritdoc />
    public override bool Remove(string keyword)
    {
        ArgumentNullException.ThrowIfNull(keyword);
        return base.Remove(HelixKeywords.ToCanonical(keyword) ?? keyword);
    }

    /// <inheritdoc />
    public override bool ShouldSerialize(string keyword) => ContainsKey(keyword);

    /// <inheritdoc />
    public override bool TryGetValue(string keyword, [MaybeNullWhen(false)] out object value)
    {
        ArgumentNullException.ThrowIfNull(keyword);
        return base.TryGetValue(HelixKeywords.ToCanonical(keyword) ?? keyword, out value);
    }

    /// <summary>Returns the connection string with passwords and other secrets masked, inner strings included.</summary>
    /// <returns>A connection string safe to log.</returns>
    public override string ToString() => Redactor.Redact(ConnectionString);

    /// <summary>Enumerates the keys Helix does not own, which are passed to both inner connection strings.</summary>
    internal IEnumerable<KeyValuePair<string, object>> PassThroughEntries()
    {
        foreach (string key in Keys)
        {
            if (HelixKeywords.ToCanonical(key) is null)
            {
                yield return new(key, base[key]);
            }
        }
    }

    /// <summary>Removes a leading bare <c>Helix</c> token, which the base parser cannot read when it stands alone.</summary>
    internal static string StripMarker(string connectionString)
    {
        var text = connectionString.TrimStart();
        if (!text.StartsWith(HelixKeywords.Marker, StringComparison.OrdinalIgnoreCase))
        {
            return connectionString;
        }

        var rest = text[HelixKeywords.Marker.Length..].TrimStart();
        return rest.Length == 0 ? string.Empty : rest[0] == ';' ? rest[1..] : connectionString;
    }

    private string? GetString(string key) => TryGetValue(key, out var value) ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;

    private bool GetBool(string key, bool fallback) => TryGetValue(key, out var value) ? (string)value == "true" : fallback;

    private int GetInt(string key, int fallback) => GetIntOrNull(key) ?? fallback;

    private int? GetIntOrNull(string key) => TryGetValue(key, out var value) ? int.Parse((string)value, CultureInfo.InvariantCulture) : null;

    private TEnum GetEnum<TEnum>(string key, TEnum fallback)
        where TEnum : struct, Enum => TryGetValue(key, out var value) ? Enum.Parse<TEnum>((string)value) : fallback;

    private void SetOrRemove(string key, string? value)
    {
        if (value is null)
        {
            Remove(key);
        }
        else
        {
            this[key] = value;
        }
    }
}
