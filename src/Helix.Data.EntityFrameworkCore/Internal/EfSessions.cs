using System.Data.Common;
using System.Runtime.CompilerServices;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>The sessions of the EF connections Helix routes, by connection object (EF's services find them here).</summary>
internal static class EfSessions
{
    private static readonly ConditionalWeakTable<DbConnection, EfSession> Sessions = [];

    public static EfSession? Existing(DbConnection? connection) => connection is not null && Sessions.TryGetValue(connection, out var session) ? session : null;

    public static EfSession GetOrAdd(DbConnection connection, HelixDataSource dataSource) => Sessions.GetValue(connection, _ => new EfSession(dataSource));

    public static void Forget(DbConnection connection) => Sessions.Remove(connection);
}
