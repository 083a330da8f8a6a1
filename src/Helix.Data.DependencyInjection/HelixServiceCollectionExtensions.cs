using System.Data.Common;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

// ReSharper disable once CheckNamespace: the extensions show up where services are registered, as Npgsql's do.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a <see cref="Helix.Data.HelixDataSource"/> and its connections in a service collection.</summary>
public static class HelixServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="Helix.Data.HelixDataSource"/> (also as <see cref="DbDataSource"/>) built from a connection
    /// string, and <see cref="Helix.Data.HelixConnection"/> (also as <see cref="DbConnection"/>) made from it. The data
    /// source logs through the container's <see cref="ILoggerFactory"/> and uses its <see cref="TimeProvider"/> when
    /// there is one; <paramref name="configure"/> can change both.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="connectionString">A Helix connection string.</param>
    /// <param name="configure">Configures the builder beyond the string (inner data sources, strategies, replay).</param>
    /// <param name="connectionLifetime">The lifetime of connections; transient by default.</param>
    /// <param name="dataSourceLifetime">The lifetime of the data source; a singleton by default.</param>
    /// <param name="serviceKey">A key to register keyed services under, for several data sources; <see langword="null"/> for unkeyed.</param>
    /// <returns>The service collection, so that calls can be chained.</returns>
    public static IServiceCollection AddHelixDataSource(
        this IServiceCollection services,
        string connectionString,
        Action<Helix.Data.HelixDataSourceBuilder>? configure = null,
        ServiceLifetime connectionLifetime = ServiceLifetime.Transient,
        ServiceLifetime dataSourceLifetime = ServiceLifetime.Singleton,
        object? serviceKey = null) =>
        services.AddHelixDataSource(connectionString, configure is null ? null : (_, builder) => configure(builder), connectionLifetime, dataSourceLifetime, serviceKey);

    /// <summary>
    /// Registers a <see cref="Helix.Data.HelixDataSource"/> built from a connection string and configured with access to
    /// the container, and its connections; see the other overload.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="connectionString">A Helix connection string.</param>
    /// <param name="configure">Configures the builder, with the service provider (to resolve an inner data source or a NATS connection).</param>
    /// <param name="connectionLifetime">The lifetime of connections; transient by default.</param>
    /// <param name="dataSourceLifetime">The lifetime of the data source; a singleton by default.</param>
    /// <param name="serviceKey">A key to register keyed services under; <see langword="null"/> for unkeyed.</param>
    /// <returns>The service collection, so that calls can be chained.</returns>
    public static IServiceCollection AddHelixDataSource(
        this IServiceCollection services,
        string connectionString,
        Action<IServiceProvider, Helix.Data.HelixDataSourceBuilder>? configure,
        ServiceLifetime connectionLifetime = ServiceLifetime.Transient,
        ServiceLifetime dataSourceLifetime = ServiceLifetime.Singleton,
        object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(connectionString);

        // Fail at registration, not at first use, when the string itself is wrong.
        _ = new Helix.Data.HelixConnectionStringBuilder(connectionString);

        Helix.Data.HelixDataSource Build(IServiceProvider provider)
        {
            var builder = new Helix.Data.HelixDataSourceBuilder(connectionString);
            builder.UseLoggerFactory(provider.GetService<ILoggerFactory>());
            if (provider.GetService<TimeProvider>() is { } timeProvider)
            {
                builder.UseTimeProvider(timeProvider);
            }

            configure?.Invoke(provider, builder);
            return builder.Build();
        }

        services.TryAdd(new ServiceDescriptor(typeof(Helix.Data.HelixDataSource), serviceKey, (provider, _) => Build(provider), dataSourceLifetime));
        services.TryAdd(new ServiceDescriptor(typeof(DbDataSource), serviceKey, (provider, key) => provider.GetRequiredKeyedService<Helix.Data.HelixDataSource>(key), dataSourceLifetime));
        services.TryAdd(new ServiceDescriptor(typeof(Helix.Data.HelixConnection), serviceKey, (provider, key) => provider.GetRequiredKeyedService<Helix.Data.HelixDataSource>(key).CreateConnection(), connectionLifetime));
        services.TryAdd(new ServiceDescriptor(typeof(DbConnection), serviceKey, (provider, key) => provider.GetRequiredKeyedService<Helix.Data.HelixConnection>(key), connectionLifetime));
        return services;
    }
}
