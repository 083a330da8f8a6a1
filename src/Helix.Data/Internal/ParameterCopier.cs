using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Reflection;

namespace Helix.Data.Internal;

/// <summary>
/// Gives each strand its own copy of a command's parameters (contract section 4): a clone when the parameter is the
/// strand provider's own type and can be cloned; a copy of the <see cref="DbParameter"/> surface plus the provider's
/// own settings (such as <c>SqliteType</c>) when it cannot; a copy of the <see cref="DbParameter"/> surface when the
/// strand uses another provider.
/// </summary>
internal static class ParameterCopier
{
    private static readonly ConcurrentDictionary<DbProviderFactory, Type> ParameterTypes = new();
    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> SettingsByType = new();
    private static readonly ConcurrentDictionary<Type, Setting[]> TypedSettingsByType = new();
    private static readonly HashSet<string> SurfaceNames = typeof(DbParameter).GetProperties().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
    private static readonly HashSet<string> SurfaceHandledApart = new(StringComparer.Ordinal)
    {
        nameof(DbParameter.ParameterName), nameof(DbParameter.Value), nameof(DbParameter.Direction), "Collection",
        "NpgsqlValue", "TypedValue",
    };

    /// <summary>Whether the strand can take this very parameter object, unchanged.</summary>
    public static bool IsNative(DbParameter parameter, DbProviderFactory factory) => parameter.GetType() == ParameterTypeOf(factory);

    /// <summary>Makes a parameter for a strand of the given provider with the same name, value and settings.</summary>
    /// <param name="source">The parameter as the caller made it.</param>
    /// <param name="factory">The strand's provider.</param>
    /// <param name="ownValue">Copy array values too, so that later changes by the caller do not reach a replay entry.</param>
    public static DbParameter CopyFor(DbParameter source, DbProviderFactory factory, bool ownValue)
    {
        DbParameter copy;
        var targetType = ParameterTypeOf(factory);
        if (source.GetType() == targetType && source is ICloneable cloneable)
        {
            copy = (DbParameter)cloneable.Clone();
        }
        else
        {
            copy = factory.CreateParameter() ?? throw new NotSupportedException($"The provider {factory.GetType().Name} cannot create parameters.");
            copy.ParameterName = source.ParameterName;
            copy.Value = source.Value;
            copy.Direction = source.Direction;
            CopySettings(source, copy, factory, sameType: source.GetType() == targetType);
        }

        if (ownValue && copy.Value is Array array)
        {
            copy.Value = array.Clone();
        }

        return copy;
    }

    private static Type ParameterTypeOf(DbProviderFactory factory) =>
        ParameterTypes.GetOrAdd(factory, static f => f.CreateParameter()?.GetType() ?? typeof(DbParameter));

    // A setting is copied only when the caller set it: when it differs from what a fresh parameter of the caller's type
    // holding the same value reports. Copying inferred settings would pin types the provider meant to infer. This runs
    // for every parameter of every write on a strand that cannot clone it: DbParameter's own settings are read through
    // its virtual properties, the provider's through typed delegates made once per parameter type; no reflection call
    // and no boxing per setting.
    private static void CopySettings(DbParameter source, DbParameter target, DbProviderFactory factory, bool sameType)
    {
        // Same type: the strand's factory makes the reference, a plain virtual call instead of Activator.
        var reference = sameType && source is not HelixParameter ? WithValue(factory.CreateParameter(), source) : CreateReference(source);
        CopySurfaceSettings(source, reference, target);
        if (sameType)
        {
            foreach (var setting in ProviderSettingsOf(source.GetType()))
            {
                setting.CopyIfSet(source, reference, target);
            }
        }

        static DbParameter? WithValue(DbParameter? reference, DbParameter source)
        {
            reference?.Value = source.Value;
            return reference;
        }
    }

    // DbParameter's settings, in its own order (DbType before the provider's settings that refine it), read directly: a
    // getter that throws (it infers from a value it cannot map, as SqliteParameter.DbType of an int[]) reports no setting,
    // so on an exception the settings are read again one by one, each on its own (what is already set is set again
    // with the same value).
    private static void CopySurfaceSettings(DbParameter source, DbParameter? reference, DbParameter target)
    {
        try
        {
            CopySurfaceSettingsDirectly(source, reference, target);
        }
#pragma warning disable CA1031 // a getter's exception means "nothing the caller set"; a setter's is thrown again below
        catch (Exception)
#pragma warning restore CA1031
        {
            foreach (var setting in SurfaceSettings.Value)
            {
                setting.CopyIfSet(source, reference, target);
            }
        }
    }

    // Without a reference, every setting is copied: a lifted comparison with null is always unequal.
    private static void CopySurfaceSettingsDirectly(DbParameter source, DbParameter? reference, DbParameter target)
    {
        if (source.DbType is var dbType && dbType != reference?.DbType)
        {
            target.DbType = dbType;
        }

        if (source.IsNullable is var isNullable && isNullable != reference?.IsNullable)
        {
            target.IsNullable = isNullable;
        }

        if (source.Precision is var precision && precision != reference?.Precision)
        {
            target.Precision = precision;
        }

        if (source.Scale is var scale && scale != reference?.Scale)
        {
            target.Scale = scale;
        }

        if (source.Size is var size && size != reference?.Size)
        {
            target.Size = size;
        }

        if (source.SourceColumn is var sourceColumn && (reference is null || sourceColumn != reference.SourceColumn))
        {
            target.SourceColumn = sourceColumn;
        }

        if (source.SourceColumnNullMapping is var nullMapping && nullMapping != reference?.SourceColumnNullMapping)
        {
            target.SourceColumnNullMapping = nullMapping;
        }

        if (source.SourceVersion is var sourceVersion && sourceVersion != reference?.SourceVersion)
        {
            target.SourceVersion = sourceVersion;
        }
    }

    private static readonly Lazy<Setting[]> SurfaceSettings = new(() => MakeSettings(typeof(DbParameter), SettingsOf(typeof(DbParameter))));

    private static Setting[] MakeSettings(Type type, IEnumerable<PropertyInfo> properties) =>
        [.. properties.Select(p => (Setting)Activator.CreateInstance(typeof(Setting<,>).MakeGenericType(type, p.PropertyType), p)!)];

    /// <summary>The settings the provider's parameter type adds to DbParameter's (SqliteType, NpgsqlDbType, ...).</summary>
    private static Setting[] ProviderSettingsOf(Type type) =>
        TypedSettingsByType.GetOrAdd(type, static t => MakeSettings(t, SettingsOf(t).Where(p => !SurfaceNames.Contains(p.Name))));

    /// <summary>
    /// The settings of a parameter that its maker set, DbParameter's own first (DbType, Size, Precision, ...), then
    /// with <paramref name="providerSettings"/> the provider's (NpgsqlDbType, SqliteType, ...).
    /// </summary>
    public static IEnumerable<(PropertyInfo Property, object? Value)> ExplicitSettings(DbParameter source, bool providerSettings)
    {
        var reference = CreateReference(source);
        foreach (var property in providerSettings ? SettingsOf(source.GetType()) : SettingsOf(typeof(DbParameter)))
        {
            if (TryRead(property, source, out var value) && (reference is null || !TryRead(property, reference, out var inferred) || !Equals(value, inferred)))
            {
                yield return (property, value);
            }
        }
    }

    // Some getters infer from the value and throw for values they cannot map (SqliteParameter.DbType of an int[]):
    // such a setting was not set by the caller, so there is nothing to copy.
    private static bool TryRead(PropertyInfo property, DbParameter parameter, out object? value)
    {
        try
        {
            value = property.GetValue(parameter);
            return true;
        }
        catch (TargetInvocationException)
        {
            value = null;
            return false;
        }
    }

    private static DbParameter? CreateReference(DbParameter source)
    {
        if (source is HelixParameter helix)
        {
            return helix.CreateReference();
        }

        if (source.GetType().GetConstructor(Type.EmptyTypes) is null)
        {
            return null;
        }

        var reference = (DbParameter)Activator.CreateInstance(source.GetType())!;
        reference.Value = source.Value;
        return reference;
    }

    private static PropertyInfo[] SettingsOf(Type type) => SettingsByType.GetOrAdd(type, static t =>
    {
        // DbParameter's own settings first (DbType before provider types that refine it), then the provider's.
        var all = t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.CanWrite && p.GetIndexParameters().Length == 0 && p.SetMethod!.IsPublic
                && !SurfaceHandledApart.Contains(p.Name)
                && (p.PropertyType.IsPrimitive || p.PropertyType.IsEnum || p.PropertyType == typeof(string)
                    || Nullable.GetUnderlyingType(p.PropertyType) is { } u && (u.IsPrimitive || u.IsEnum)))
            .ToList();
        return [.. all.Where(p => SurfaceNames.Contains(p.Name)), .. all.Where(p => !SurfaceNames.Contains(p.Name))];
    });

    /// <summary>One setting of one parameter type, read and written through delegates.</summary>
    private abstract class Setting
    {
        /// <summary>Copies the setting from <paramref name="source"/> to <paramref name="target"/> when the caller set it.</summary>
        public abstract void CopyIfSet(DbParameter source, DbParameter? reference, DbParameter target);
    }

    private sealed class Setting<TParameter, TValue>(PropertyInfo property) : Setting
        where TParameter : DbParameter
    {
        private readonly Func<TParameter, TValue> _get = property.GetMethod!.CreateDelegate<Func<TParameter, TValue>>();
        private readonly Action<TParameter, TValue> _set = property.SetMethod!.CreateDelegate<Action<TParameter, TValue>>();

        public override void CopyIfSet(DbParameter source, DbParameter? reference, DbParameter target)
        {
            if (!TryRead((TParameter)source, out var value))
            {
                return;
            }

            if (reference is not null && TryRead((TParameter)reference, out var inferred) && EqualityComparer<TValue>.Default.Equals(value, inferred))
            {
                return;
            }

            _set((TParameter)target, value);
        }

        // As with reflection above: a getter that throws (it infers from a value it cannot map) reports no setting.
        private bool TryRead(TParameter parameter, out TValue value)
        {
            try
            {
                value = _get(parameter);
                return true;
            }
#pragma warning disable CA1031 // whatever the provider's getter throws means "nothing the caller set"
            catch (Exception)
#pragma warning restore CA1031
            {
                value = default!;
                return false;
            }
        }
    }
}
