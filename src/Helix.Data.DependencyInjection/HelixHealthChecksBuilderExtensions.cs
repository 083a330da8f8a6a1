using Helix.Data;
using Microsoft.Extensions.Diagnostics.HealthChecks;

// ReSharper disable once CheckNamespace: the extension shows up where health checks are registered.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the <see cref="HelixHealthCheck"/> of a registered data source.</summary>
public static class HelixHealthChecksBuilderExtensions
{
    /// <summary>Adds a health check of the <see cref="HelixDataSource"/> registered with <c>AddHelixDataSource</c>.</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status when no strand is healthy; <see langword="null"/> for unhealthy.</param>
    /// <param name="tags">Tags to filter checks by.</param>
    /// <param name="serviceKey">The key the data source was registered under, or <see langword="null"/>.</param>
    /// <returns>The builder, so that calls can be chained.</returns>
    public static IHealthChecksBuilder AddHelix(this IHealthChecksBuilder builder, string name = "helix", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            provider => new HelixHealthCheck(serviceKey is null ? provider.GetRequiredService<HelixDataSource>() : provider.GetRequiredKeyedService<HelixDataSource>(serviceKey)),
            failureStatus,
            tags));
    }
}
