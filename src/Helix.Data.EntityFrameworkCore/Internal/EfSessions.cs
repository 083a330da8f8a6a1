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

    /// <summary>EF's connection object changes (<c>SetDbConnection</c>): its session goes with the new one.</summary>
    public static EfSession Move(DbConnection from, DbConnection to)
    {
        var session = Existing(from) ?? throw new InvalidOperationException("EF Core's connection object has no Helix session to move.");
        Sessions.Remove(from);
        Sessions.Add(to, session);
        return session;
    }
}
