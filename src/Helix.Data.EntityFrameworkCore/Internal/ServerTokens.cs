using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// PostgreSQL's <c>xmin</c> as EF Core's concurrency token (Npgsql maps a <c>[Timestamp] uint</c> to it): a version
/// each server bumps on its own, so a token EF holds is one strand's. Helix keeps tokens to one strand (contract
/// amendment 29): reads that return them go to the first healthy strand, primary before secondary, and so does the
/// check of a write; the other strand takes the write without the check (<see cref="WithoutCheck"/>), in the same
/// transaction, which EF rolls back everywhere when the check fails.
/// </summary>
internal static partial class ServerTokens
{
    private const string Column = "xmin";

    /// <summary>Whether the property is an <c>xmin</c> concurrency token.</summary>
    public static bool IsToken(IProperty property) =>
        property.IsConcurrencyToken && property.ValueGenerated.HasFlag(ValueGenerated.OnUpdate)
        && string.Equals(property.GetColumnName(), Column, StringComparison.Ordinal);

    /// <summary>Whether a model has such tokens.</summary>
    public static bool InModel(IModel model) => model.GetEntityTypes().Any(entity => entity.GetProperties().Any(IsToken));

    /// <summary>Whether a command's text mentions the token column: a read returns tokens, a write may compare one.</summary>
    public static bool Mentioned(string commandText) => commandText.Contains(Column, StringComparison.Ordinal);

    /// <summary>Whether a write whose text <see cref="Mentioned"/> the column compares a token with a parameter (EF's <c>UPDATE</c> and <c>DELETE</c> of a tracked row).</summary>
    public static bool Checked(string commandText) => Check().IsMatch(commandText);

    /// <summary>The write without its token comparisons, for a strand whose tokens EF does not hold.</summary>
    public static string WithoutCheck(string commandText) => Check().Replace(commandText, string.Empty);

    // What EF's Npgsql provider writes after a row's key: "WHERE "Id" = @p1 AND xmin = @p2".
    [GeneratedRegex("""\s+AND\s+(?:"xmin"|xmin)\s*=\s*@\w+""", RegexOptions.CultureInvariant)]
    private static partial Regex Check();
}
