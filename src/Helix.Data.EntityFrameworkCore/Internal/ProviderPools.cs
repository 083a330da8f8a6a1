using System.Reflection;
using Helix.Data.Internal;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Empties a strand's connection pools after its database was dropped: the idle connections in them were to that
/// database (the server ended them, or would refuse a new one of that name), and a strand that took one would count the
/// error against the strand. Read by name, since this package depends on no provider: a data source's <c>Clear()</c>
/// (Npgsql's), else the connection type's static <c>ClearPool(connection)</c> (Npgsql, SqlClient, MySqlConnector, SQLite).
/// </summary>
internal static class ProviderPools
{
    public static void Clear(Strand strand)
    {
        foreach (var source in new[] { strand.DataSource, strand.ConnectionSource }.Distinct())
        {
            if (source.GetType().GetMethod("Clear", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes) is { } clear)
            {
                clear.Invoke(source, null);
                continue;
            }

            using var connection = source.CreateConnection();
            connection.GetType().GetMethod("ClearPool", BindingFlags.Public | BindingFlags.Static, [connection.GetType()])?.Invoke(null, [connection]);
        }
    }
}
