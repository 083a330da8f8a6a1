using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Refuses, when a context first opens its connection, a model with values each database would generate on its own
/// (identity, serial, sequences, <c>HasDefaultValueSql</c>, a version the database bumps on each write): the strands would
/// hold different values for the same row. Computed columns (a function of the row) are fine; so are values EF makes in
/// the client (Guid keys); so are PostgreSQL's <c>xmin</c> concurrency tokens, which Helix keeps to one strand
/// (<see cref="ServerTokens"/>). Checked once per model.
/// </summary>
internal sealed class GeneratedValueCheck(HelixEntityFrameworkOptions options)
{
    private static readonly HashSet<Type> IntegerTypes = [typeof(int), typeof(long), typeof(short), typeof(byte), typeof(uint), typeof(ulong), typeof(ushort), typeof(decimal)];
    private readonly ConditionalWeakTable<IModel, object> _checked = [];

    /// <summary>Refuses the model's values each database generates; returns whether it has <c>xmin</c> concurrency tokens.</summary>
    public bool ThrowIfDatabaseGenerated(IModel model)
    {
        if (_checked.TryGetValue(model, out var hasTokens))
        {
            return (bool)hasTokens;
        }

        var offending = model.GetEntityTypes()
            .Where(entity => !options.DatabaseGeneratedAllowed.Contains(entity.ClrType))
            .SelectMany(entity => entity.GetProperties().Where(IsDatabaseGenerated).Select(property => (Entity: entity.DisplayName(), Property: property)))
            .ToList();
        if (offending.Count > 0)
        {
            throw new InvalidOperationException(Refusal(offending));
        }

        var tokens = ServerTokens.InModel(model);
        _checked.AddOrUpdate(model, tokens);
        return tokens;
    }

    /// <summary>What is refused, why, and the fix: for a version the database bumps, a token the application sets.</summary>
    private static string Refusal(List<(string Entity, IProperty Property)> offending)
    {
        var names = string.Join(", ", offending.Select(o => $"{o.Entity}.{o.Property.Name}"));
        var tokens = offending.Where(o => IsBumpedToken(o.Property)).Select(o => $"{o.Entity}.{o.Property.Name}").ToList();
        var one = offending.Count == 1;
        return $"Helix cannot write {names} to two databases: each database generates {(one ? "this value" : "these values")} on its own (identity, serial, a sequence, a default SQL or a version it bumps on each write, such as SQL Server's rowversion), so the strands would hold different values for the same row. "
            + $"Generate {(one ? "it" : "them")} in the application instead: a Guid key (EF generates it; Guid.CreateVersion7() sorts well), or ValueGeneratedNever() with values the application assigns. "
            + (tokens.Count == 0 ? string.Empty : $"For the concurrency token{(tokens.Count == 1 ? string.Empty : "s")} {string.Join(", ", tokens)}, use one the application sets, the same on both strands: [ConcurrencyCheck] public Guid Version {{ get; set; }}, given Guid.NewGuid() with each change; EF checks it as it checks a rowversion. ")
            + $"For a table written on one strand only, allow it: UseHelix(..., helix => helix.AllowDatabaseGeneratedValues<{offending[0].Entity}>()).";
    }

    private static bool IsBumpedToken(IProperty property) => property.IsConcurrencyToken && property.ValueGenerated.HasFlag(ValueGenerated.OnUpdate);

    private static bool IsDatabaseGenerated(IProperty property)
    {
        if (property.GetComputedColumnSql() is not null || property.ValueGenerated == ValueGenerated.Never || ServerTokens.IsToken(property))
        {
            return false; // a computed column is the same function of the same row on both strands
        }

        if (property.GetDefaultValueSql() is not null)
        {
            return true;
        }

        if (property.ValueGenerated.HasFlag(ValueGenerated.OnUpdate))
        {
            return true; // rowversion: each server's own
        }

        // A key generated on add: integers come from the database (identity, serial, rowid, a sequence); Guids and
        // strings from EF in the client.
        var type = Nullable.GetUnderlyingType(property.ClrType) ?? property.ClrType;
        return property.ValueGenerated.HasFlag(ValueGenerated.OnAdd) && IntegerTypes.Contains(type) && property.GetValueGeneratorFactory() is null;
    }
}
