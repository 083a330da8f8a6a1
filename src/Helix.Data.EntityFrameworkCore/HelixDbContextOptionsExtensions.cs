using Helix.Data;
using Helix.Data.EntityFrameworkCore;
using Helix.Data.EntityFrameworkCore.Internal;

// The namespace of DbContextOptionsBuilder, as EF Core's providers do: UseHelix shows where UseNpgsql does.
namespace Microsoft.EntityFrameworkCore;

/// <summary>Makes a <see cref="DbContext"/> use two strands through Helix.Data.</summary>
public static class HelixDbContextOptionsExtensions
{
    /// <summary>
    /// Configures the context for the strands of a Helix connection string: <paramref name="useProvider"/> configures
    /// the strands' own EF Core provider with the primary strand's connection string, and Helix routes every command,
    /// connection and transaction of the context to the strands (dual writes, sticky reads, failover, replay).
    /// </summary>
    /// <param name="optionsBuilder">The context's options.</param>
    /// <param name="connectionString">The Helix connection string (<c>Helix;Primary=...;Secondary=...</c>); its data source is shared by every context that names it.</param>
    /// <param name="useProvider">Configures the provider, such as <c>(b, primary) =&gt; b.UseNpgsql(primary)</c>.</param>
    /// <param name="configure">Helix's EF Core settings, or <see langword="null"/>.</param>
    /// <returns>The options builder.</returns>
    public static DbContextOptionsBuilder UseHelix(
        this DbContextOptionsBuilder optionsBuilder,
        string connectionString,
        Action<DbContextOptionsBuilder, string> useProvider,
        Action<HelixEntityFrameworkOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return optionsBuilder.UseHelix(HelixDataSource.GetShared(connectionString), useProvider, configure);
    }

    /// <summary>
    /// Configures the context for the strands of a <see cref="HelixDataSource"/> (from DI, or built with a
    /// <see cref="HelixDataSourceBuilder"/>): <paramref name="useProvider"/> configures the strands' own EF Core provider
    /// with the primary strand's connection string, and Helix routes every command, connection and transaction.
    /// </summary>
    /// <param name="optionsBuilder">The context's options.</param>
    /// <param name="dataSource">A two-strand data source whose strands use one provider.</param>
    /// <param name="useProvider">Configures the provider, such as <c>(b, primary) =&gt; b.UseNpgsql(primary)</c>.</param>
    /// <param name="configure">Helix's EF Core settings, or <see langword="null"/>.</param>
    /// <returns>The options builder.</returns>
    /// <exception cref="NotSupportedException">The strands use different providers.</exception>
    public static DbContextOptionsBuilder UseHelix(
        this DbContextOptionsBuilder optionsBuilder,
        HelixDataSource dataSource,
        Action<DbContextOptionsBuilder, string> useProvider,
        Action<HelixEntityFrameworkOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(useProvider);
        var options = new HelixEntityFrameworkOptions();
        configure?.Invoke(options);
        var router = HelixRouter.For(dataSource, options);
        useProvider(optionsBuilder, router.PrimaryConnectionString);
        if (router.DataSource.TakesAmbientTransactions)
        {
            AmbientEnlisting.Replace(optionsBuilder); // a TransactionScope enlists the context's Helix connection, not EF's connection object
        }

        return optionsBuilder
            .AddInterceptors(router.Connections, router.Commands, router.Transactions, router.SaveChanges)
            .ReplaceService<Microsoft.EntityFrameworkCore.Storage.IRelationalTransactionFactory, HelixRelationalTransactionFactory>()
            .ReplaceService<Microsoft.EntityFrameworkCore.Storage.IRelationalDatabaseCreator, HelixDatabaseCreator>()
            .ReplaceService<Microsoft.EntityFrameworkCore.Diagnostics.IInterceptors, HelixLastInterceptors>();
    }

    /// <summary>
    /// Configures the context for the strands of a Helix connection string (see the non-generic overload); returns the
    /// typed builder, as EF Core's providers do.
    /// </summary>
    /// <typeparam name="TContext">The context type.</typeparam>
    /// <param name="optionsBuilder">The context's options.</param>
    /// <param name="connectionString">The Helix connection string.</param>
    /// <param name="useProvider">Configures the provider, such as <c>(b, primary) =&gt; b.UseNpgsql(primary)</c>.</param>
    /// <param name="configure">Helix's EF Core settings, or <see langword="null"/>.</param>
    /// <returns>The options builder.</returns>
    public static DbContextOptionsBuilder<TContext> UseHelix<TContext>(
        this DbContextOptionsBuilder<TContext> optionsBuilder,
        string connectionString,
        Action<DbContextOptionsBuilder, string> useProvider,
        Action<HelixEntityFrameworkOptions>? configure = null)
        where TContext : DbContext =>
        (DbContextOptionsBuilder<TContext>)((DbContextOptionsBuilder)optionsBuilder).UseHelix(connectionString, useProvider, configure);

    /// <summary>
    /// Configures the context for the strands of a <see cref="HelixDataSource"/> (see the non-generic overload); returns
    /// the typed builder, as EF Core's providers do.
    /// </summary>
    /// <typeparam name="TContext">The context type.</typeparam>
    /// <param name="optionsBuilder">The context's options.</param>
    /// <param name="dataSource">A two-strand data source whose strands use one provider.</param>
    /// <param name="useProvider">Configures the provider, such as <c>(b, primary) =&gt; b.UseNpgsql(primary)</c>.</param>
    /// <param name="configure">Helix's EF Core settings, or <see langword="null"/>.</param>
    /// <returns>The options builder.</returns>
    public static DbContextOptionsBuilder<TContext> UseHelix<TContext>(
        this DbContextOptionsBuilder<TContext> optionsBuilder,
        HelixDataSource dataSource,
        Action<DbContextOptionsBuilder, string> useProvider,
        Action<HelixEntityFrameworkOptions>? configure = null)
        where TContext : DbContext =>
        (DbContextOptionsBuilder<TContext>)((DbContextOptionsBuilder)optionsBuilder).UseHelix(dataSource, useProvider, configure);
}
