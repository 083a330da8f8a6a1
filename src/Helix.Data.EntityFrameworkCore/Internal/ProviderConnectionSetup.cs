using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// What the context's EF Core provider does to each connection object it makes, done to the strands' connections that
/// run the context's commands. EF Core's SQLite provider registers on its connections the functions its SQL calls
/// (<c>ef_compare</c>, <c>ef_add</c>, <c>ef_sum</c>... for decimals, <c>regexp</c> for <c>Regex.IsMatch</c>) and the
/// <c>EF_DECIMAL</c> collation; those commands run on Helix's connections (either strand's, and the replay worker's).
/// The provider does it to a connection given in the options when it makes its connection service, so Helix asks it
/// so, with the context's own options: what the provider does stays the provider's.
/// </summary>
internal static class ProviderConnectionSetup
{
    /// <summary>The name EF Core's SQLite provider gives itself (<c>Database.ProviderName</c>).</summary>
    public const string SqliteProvider = "Microsoft.EntityFrameworkCore.Sqlite";

    /// <summary>The providers known to set up the connections they make; others (Npgsql: type mappings live in its data source) need nothing.</summary>
    private static readonly string[] ProvidersThatSetUpConnections = [SqliteProvider];

    /// <summary>The setup for the context's provider, or <see langword="null"/> when it sets up nothing.</summary>
    public static Action<DbConnection>? For(DbContext context)
    {
        if (!ProvidersThatSetUpConnections.Contains(context.Database.ProviderName, StringComparer.Ordinal))
        {
            return null;
        }

        var options = context.GetService<IDbContextOptions>();
        return connection => SetUp(options, connection);
    }

    // The provider's connection service, made with a connection given, sets it up.
    private static void SetUp(IDbContextOptions options, DbConnection connection) =>
        ConnectionService(options, relational => relational.WithConnection(connection, owned: false), _ => true);

    /// <summary>
    /// Asks <paramref name="ask"/> of the provider's connection service made in the context's own options with its
    /// relational options changed by <paramref name="change"/> (another connection, another connection string), in a
    /// context made for the question and disposed after it.
    /// </summary>
    public static T ConnectionService<T>(IDbContextOptions options, Func<RelationalOptionsExtension, RelationalOptionsExtension> change, Func<IRelationalConnection, T> ask)
    {
        using var context = new DbContext(OptionsWith(options, change));
        return ask(context.GetService<IRelationalConnection>());
    }

    /// <summary>The context's options with their relational options changed by <paramref name="change"/>.</summary>
    public static DbContextOptions<DbContext> OptionsWith(IDbContextOptions options, Func<RelationalOptionsExtension, RelationalOptionsExtension> change)
    {
        var extensions = options.Extensions.ToDictionary(e => e.GetType());
        var relational = RelationalOptionsExtension.Extract(options);
        extensions[relational.GetType()] = change(relational);
        return new DbContextOptions<DbContext>(extensions);
    }
}
