using System.Data;
using Dapper;

namespace Helix.Data;

/// <summary>
/// Dapper settings for applications that use Dapper through Helix.Data.
/// </summary>
/// <remarks>
/// Dapper decides whether a provider takes array parameters by the connection's type name: only a connection
/// class named <c>NpgsqlConnection</c> gets them (Dapper issues #589 and #1318). Through a <see cref="HelixConnection"/>
/// it therefore expands an array into a list of scalar parameters, which breaks <c>WHERE id = ANY(@ids)</c> and
/// inserting a <c>string[]</c> into a <c>text[]</c> column. <see cref="UseNativeArrays()"/> registers Dapper type
/// handlers that pass arrays whole, so the provider (Npgsql) binds them natively, as it does without Helix.
/// </remarks>
public static class HelixDapper
{
    /// <summary>The element types whose arrays <see cref="UseNativeArrays()"/> passes whole.</summary>
    public static IReadOnlyList<Type> DefaultElementTypes { get; } =
    [
        typeof(bool), typeof(short), typeof(int), typeof(long), typeof(float), typeof(double), typeof(decimal),
        typeof(string), typeof(char), typeof(Guid), typeof(DateTime), typeof(DateTimeOffset), typeof(DateOnly),
        typeof(TimeOnly), typeof(TimeSpan), typeof(byte[]),
        typeof(bool?), typeof(short?), typeof(int?), typeof(long?), typeof(float?), typeof(double?), typeof(decimal?),
        typeof(Guid?), typeof(DateTime?), typeof(DateTimeOffset?), typeof(DateOnly?), typeof(TimeOnly?), typeof(TimeSpan?),
    ];

    /// <summary>
    /// Makes Dapper pass arrays of the <see cref="DefaultElementTypes"/> as one array parameter instead of expanding
    /// them. Call it once at startup.
    /// </summary>
    /// <remarks>
    /// Dapper's type handlers are global: an array of these types is then passed whole on every connection,
    /// including providers without array parameters (SQL Server, SQLite), where Dapper's <c>IN @ids</c> expansion
    /// relied on the expansion. There, pass a <see cref="List{T}"/> instead of an array to keep the expansion.
    /// </remarks>
    public static void UseNativeArrays() => UseNativeArrays([.. DefaultElementTypes]);

    /// <summary>Makes Dapper pass arrays of the given element types as one array parameter. Call it once at startup.</summary>
    /// <param name="elementTypes">The element types, such as <c>typeof(int)</c> for <c>int[]</c>.</param>
    public static void UseNativeArrays(params Type[] elementTypes)
    {
        ArgumentNullException.ThrowIfNull(elementTypes);
        foreach (var elementType in elementTypes)
        {
            var handler = (SqlMapper.ITypeHandler)Activator.CreateInstance(typeof(ArrayHandler<>).MakeGenericType(elementType))!;
            SqlMapper.AddTypeHandler(elementType.MakeArrayType(), handler);
        }
    }

    private sealed class ArrayHandler<T> : SqlMapper.TypeHandler<T[]>
    {
        public override void SetValue(IDbDataParameter parameter, T[]? value) => parameter.Value = value is null ? DBNull.Value : value;

        public override T[]? Parse(object value) => value switch
        {
            T[] typed => typed,
            Array array => [.. array.Cast<T>()],
            _ => throw new InvalidCastException($"Cannot read a {value.GetType().Name} as {typeof(T).Name}[]."),
        };
    }
}
