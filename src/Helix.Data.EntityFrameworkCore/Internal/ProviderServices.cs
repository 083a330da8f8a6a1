using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// The services an EF Core provider registers, read once per provider from what its options extension adds to an empty
/// collection: which of its classes serves a service, and under which service type (this package depends on no provider).
/// </summary>
internal static class ProviderServices
{
    private static readonly ConcurrentDictionary<Type, ServiceDescriptor[]> Registered = new();

    /// <summary>The registration of the provider's class that serves <paramref name="service"/> (the last, as the container takes it), under a service type of its own if it has one.</summary>
    public static ServiceDescriptor? Serving(IDbContextOptionsExtension provider, Type service) =>
        Of(provider).LastOrDefault(d => d.ServiceType != typeof(IRelationalConnection) && service.IsAssignableFrom(d.ImplementationType));

    private static ServiceDescriptor[] Of(IDbContextOptionsExtension provider) =>
        Registered.GetOrAdd(provider.GetType(), static (_, p) =>
        {
            var services = new ServiceCollection();
            p.ApplyServices(services);
            return [.. services];
        }, provider);
}
