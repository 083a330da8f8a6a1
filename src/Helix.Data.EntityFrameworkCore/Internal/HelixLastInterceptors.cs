using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// EF Core's interceptors of a context as EF resolves them (those of the internal service provider, then those of the
/// options, each in the order added), with Helix's moved after all of the application's: EF calls interceptors in that
/// order, and Helix's run the command, open the connection and begin the transaction. An application's interceptor
/// therefore sees and decides each of them first (rewrites a command's text, answers it from a cache, refuses it),
/// whether it was added before <c>UseHelix</c> or after it, as with plain EF Core. In place of EF's own
/// <c>Interceptors</c>, which keeps the order added.
/// </summary>
internal sealed class HelixLastInterceptors(
    IServiceProvider services,
    IEnumerable<IInterceptor> injected,
    IEnumerable<IInterceptorAggregator> aggregators) : IInterceptors
{
    private readonly Dictionary<Type, IInterceptorAggregator> _aggregators = aggregators.ToDictionary(a => a.InterceptorType);
    private IReadOnlyList<IInterceptor>? _ordered;

    /// <inheritdoc />
    public TInterceptor? Aggregate<TInterceptor>()
        where TInterceptor : class, IInterceptor =>
        (TInterceptor?)_aggregators[typeof(TInterceptor)].AggregateInterceptors(Ordered);

    private IReadOnlyList<IInterceptor> Ordered => _ordered ??= Order();

    private List<IInterceptor> Order()
    {
        var all = injected
            .Concat(services.GetRequiredService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()?.Interceptors ?? [])
            .ToList();
        return [.. all.Where(i => !IsHelix(i)), .. all.Where(IsHelix)];
    }

    private static bool IsHelix(IInterceptor interceptor) =>
        interceptor is HelixConnectionInterceptor or HelixCommandInterceptor or HelixTransactionInterceptor or HelixSaveChangesInterceptor;
}
