using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// The data source the context's EF Core provider makes its connection objects from for a connection string, when it
/// builds one with more than the string says: EF Core's Npgsql provider does when the options map enums
/// (<c>MapEnum</c>), add plugins (NodaTime, NetTopologySuite, pgvector) or configure the data source
/// (<c>ConfigureDataSource</c>); the parameters of its commands then need that data source's type mappings on every
/// strand. The provider's connection service, made for the strand's connection string in the context's own options,
/// exposes it as <c>DbDataSource</c>; it is read by name, since this package depends on no provider.
/// </summary>
internal static class ProviderDataSource
{
    /// <summary>The provider's data source for <paramref name="connectionString"/>, or <see langword="null"/> when it makes its connections without one.</summary>
    public static DbDataSource? For(DbContext context, string connectionString)
    {
        var options = context.GetService<IDbContextOptions>();
        var relational = RelationalOptionsExtension.Extract(options);
        if (relational.Connection is not null || relational.ConnectionString is null)
        {
            return null; // the application gave EF a connection object or a data source of its own
        }

        return ProviderConnectionSetup.ConnectionService(
            options,
            r => r.WithConnectionString(connectionString),
            connection => connection.GetType().GetProperty("DbDataSource", typeof(DbDataSource))?.GetValue(connection) as DbDataSource);
    }
}
