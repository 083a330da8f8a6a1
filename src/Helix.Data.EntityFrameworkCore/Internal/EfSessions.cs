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

    /// <summary>
    /// A command EF made on <paramref name="replaced"/>, its connection object before Helix gave it another at the open
    /// (EF makes a command before it opens the connection), runs in <paramref name="session"/> all the same. Called once
    /// EF has disposed the object it replaced, whose end must not end the session.
    /// </summary>
    public static void KeepRouting(DbConnection replaced, EfSession session) => Sessions.AddOrUpdate(replaced, session);

    /// <summary>EF's connection object changes (<c>SetDbConnection</c>): its session goes with the new one.</summary>
    public static EfSession Move(DbConnection from, DbConnection to)
    {
        var session = Existing(from) ?? throw new InvalidOperationException("EF Core's connection object has no Helix session to move.");
        Sessions.Remove(from);
        Sessions.Add(to, session);
        return session;
    }
}
