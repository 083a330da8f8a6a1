using System.Data;
using Dapper;

namespace Helix.Data;

/// <summary>
/// Dapper settings for applications that use Dapper through Helix.Data.
/// </summary>
/// <remarks>
/// Dapper decides whether a provider takes array parameters by the connection's type name: only a connection
/// class named <c>NpgsqlConnection</c> gets them (Dapper issues #589 and #1318). There Dapper passes an array or a list
/// whole; through a <see cref="HelixConnection"/> it expands it into a list of scalar parameters, which breaks
/// <c>WHERE id = ANY(@ids)</c> and writing a <c>string[]</c> into a <c>text[]</c> column. <see cref="UseNativeArrays()"/>
/// registers Dapper type handlers that pass arrays and lists whole, so the provider (Npgsql) binds them natively, as it
/// does without Helix.
/// </remarks>
public static class HelixDapper
{
    /// <summary>The element types whose arrays and lists <see cref="UseNativeArrays()"/> passes whole.</summary>
    public static IReadOnlyList<Type> DefaultElementTypes { get; } =
    [
        typeof(bool), typeof(short), typeof(int), typeof(long), typeof(float), typeof(double), typeof(decimal),
        typeof(string), typeof(char), typeof(Guid), typeof(DateTime), typeof(DateTimeOffset), typeof(DateOnly),
        typeof(TimeOnly), typeof(TimeSpan), typeof(byte[]),
        typeof(bool?), typeof(short?), typeof(int?), typeof(long?), typeof(float?), typeof(double?), typeof(decimal?),
        typeof(Guid?), typeof(DateTime?), typeof(DateTimeOffset?), typeof(DateOnly?), typeof(TimeOnly?), typeof(TimeSpan?),
    ];

    /// <summary>
    /// The collection types, for each element type <c>T</c>, that <see cref="UseNativeArrays()"/> passes whole besides
    /// <c>T[]</c>: the ones a parameter object or <c>DynamicParameters</c> commonly declares or holds.
    /// </summary>
    public static IReadOnlyList<Type> ListTypes { get; } =
    [
        typeof(List<>), typeof(IList<>), typeof(IReadOnlyList<>), typeof(ICollection<>), typeof(IReadOnlyCollection<>),
        typeof(IEnumerable<>), typeof(HashSet<>), typeof(ISet<>), typeof(IReadOnlySet<>),
    ];

    /// <summary>
    /// Makes Dapper pass arrays and lists (<see cref="ListTypes"/>) of the <see cref="DefaultElementTypes"/> as one
    /// array parameter instead of expanding them, as Dapper does on an <c>NpgsqlConnection</c>. Call it once at startup.
    /// </summary>
    /// <remarks>
    /// <para>
    /// This is Dapper's own behaviour on Npgsql, so <c>WHERE id = ANY(@ids)</c> works with an array or a list, and
    /// <c>WHERE id IN @ids</c> does not (PostgreSQL has no <c>IN</c> over an array, with or without Helix). A sequence
    /// of another type (a LINQ query not materialized, an <c>ImmutableArray&lt;T&gt;</c>) is still expanded: pass
    /// <c>.ToArray()</c>.
    /// </para>
    /// <para>
    /// Dapper's type handlers are global: these arrays and lists are then passed whole on every connection of the
    /// process, including providers without array parameters (SQL Server, SQLite), where <c>IN @ids</c> relied on the
    /// expansion. Call it in applications whose Dapper code talks to PostgreSQL.
    /// </para>
    /// </remarks>
    public static void UseNativeArrays() => UseNativeArrays([.. DefaultElementTypes]);

    /// <summary>
    /// Makes Dapper pass arrays and lists (<see cref="ListTypes"/>) of the given element types as one array parameter.
    /// Call it once at startup.
    /// </summary>
    /// <param name="elementTypes">The element types, such as <c>typeof(int)</c> for <c>int[]</c> and <c>List&lt;int&gt;</c>.</param>
    public static void UseNativeArrays(params Type[] elementTypes)
    {
        ArgumentNullException.ThrowIfNull(elementTypes);
        foreach (var elementType in elementTypes)
        {
            var arrays = (SqlMapper.ITypeHandler)Activator.CreateInstance(typeof(ArrayHandler<>).MakeGenericType(elementType))!;
            SqlMapper.AddTypeHandler(elementType.MakeArrayType(), arrays);
            var lists = (SqlMapper.ITypeHandler)Activator.CreateInstance(typeof(SequenceHandler<>).MakeGenericType(elementType))!;
            foreach (var listType in ListTypes)
            {
                SqlMapper.AddTypeHandler(listType.MakeGenericType(elementType), lists);
            }
        }
    }

    private sealed class ArrayHandler<T> : SqlMapper.TypeHandler<T[]>
    {
        public override void SetValue(IDbDataParameter parameter, T[]? value) => parameter.Value = value is null ? DBNull.Value : value;

        public override T[]? Parse(object value) => ToArray(value);

        internal static T[] ToArray(object value) => value switch
        {
            T[] typed => typed,
            Array array => [.. array.Cast<T>()],
            _ => throw new InvalidCastException($"Cannot read a {value.GetType().Name} as {typeof(T).Name}[]."),
        };
    }

    /// <summary>Passes a list as an array (which every strand's provider, and a durable replay queue, can hold).</summary>
    private sealed class SequenceHandler<T> : SqlMapper.ITypeHandler
    {
        public void SetValue(IDbDataParameter parameter, object? value) =>
            parameter.Value = value is IEnumerable<T> sequence ? sequence.ToArray() : DBNull.Value;

        public object Parse(Type destinationType, object value)
        {
            var array = ArrayHandler<T>.ToArray(value);
            return destinationType.IsAssignableFrom(typeof(T[])) ? array
                : destinationType.IsAssignableFrom(typeof(List<T>)) ? new List<T>(array)
                : new HashSet<T>(array);
        }
    }
}
