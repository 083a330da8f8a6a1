using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Refuses, when a context first opens its connection, a model with values each database would generate on its own
/// (identity, serial, sequences, <c>HasDefaultValueSql</c>, a version the database bumps on each write): the strands would
/// hold different values for the same row. Computed columns (a function of the row) are fine; so are values EF makes in
/// the client (Guid keys). Checked once per model.
/// </summary>
internal sealed class GeneratedValueCheck(HelixEntityFrameworkOptions options)
{
    private static readonly HashSet<Type> IntegerTypes = [typeof(int), typeof(long), typeof(short), typeof(byte), typeof(uint), typeof(ulong), typeof(ushort), typeof(decimal)];
    private readonly ConditionalWeakTable<IModel, object> _checked = [];

    public void ThrowIfDatabaseGenerated(IModel model)
    {
        if (_checked.TryGetValue(model, out _))
        {
            return;
        }

        var offending = model.GetEntityTypes()
            .Where(entity => !options.DatabaseGeneratedAllowed.Contains(entity.ClrType))
            .SelectMany(entity => entity.GetProperties().Where(IsDatabaseGenerated).Select(property => $"{entity.DisplayName()}.{property.Name}"))
            .ToList();
        if (offending.Count > 0)
        {
            var first = offending[0];
            throw new InvalidOperationException(
                $"Helix cannot write {string.Join(", ", offending)} to two databases: each database generates {(offending.Count == 1 ? "this value" : "these values")} on its own (identity, serial, a sequence, a default SQL or a version it bumps on each write), so the strands would hold different values for the same row. "
                + $"Generate {(offending.Count == 1 ? "it" : "them")} in the application instead: a Guid key (EF generates it; Guid.CreateVersion7() sorts well), or ValueGeneratedNever() with values the application assigns. "
                + $"For a table written on one strand only, allow it: UseHelix(..., helix => helix.AllowDatabaseGeneratedValues<{first[..first.IndexOf('.', StringComparison.Ordinal)]}>()).");
        }

        _checked.AddOrUpdate(model, new object());
    }

    private static bool IsDatabaseGenerated(IProperty property)
    {
        if (property.GetComputedColumnSql() is not null || property.ValueGenerated == ValueGenerated.Never)
        {
            return false; // a computed column is the same function of the same row on both strands
        }

        if (property.GetDefaultValueSql() is not null)
        {
            return true;
        }

        if (property.ValueGenerated.HasFlag(ValueGenerated.OnUpdate))
        {
            return true; // rowversion, xmin: each server's own
        }

        // A key generated on add: integers come from the database (identity, serial, rowid, a sequence); Guids and
        // strings from EF in the client.
        var type = Nullable.GetUnderlyingType(property.ClrType) ?? property.ClrType;
        return property.ValueGenerated.HasFlag(ValueGenerated.OnAdd) && IntegerTypes.Contains(type) && property.GetValueGeneratorFactory() is null;
    }
}
