using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using Helix.Data.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// EF's database creator over two strands: whether the database exists, and creating or dropping it, are asked of each
/// strand by the provider's own creator, made for that strand with a connection service of the provider's own for the
/// strand's connection (as EF's Npgsql provider makes its admin connection): Helix routes only the context's own
/// connection, so these run on the strand as plain EF runs them. Routed, they reached one strand only: EF's Npgsql provider
/// creates and drops a database on an admin connection made from EF's connection object (one strand's), and EF's SQLite
/// provider deletes the file EF's connection object opened. The rest (tables, the script) is the context's provider
/// creator's, routed as usual.
/// </summary>
internal sealed class HelixDatabaseCreator(RelationalDatabaseCreatorDependencies dependencies, IServiceProvider services)
    : RelationalDatabaseCreator(dependencies)
{
    private readonly ProviderClasses _types = ProviderClassesOf(dependencies.ContextOptions);

    private IRelationalDatabaseCreator Provider => field ??= (IRelationalDatabaseCreator)ActivatorUtilities.CreateInstance(services, _types.Creator);

    private readonly HelixDataSource _dataSource = RouterOf(dependencies.ContextOptions).DataSource;

    /// <summary>Whether the database exists on every strand that can be reached.</summary>
    public override bool Exists() => ExistsAsync(IOBehavior.Synchronous, default).Synchronously();

    public override Task<bool> ExistsAsync(CancellationToken cancellationToken = default) => ExistsAsync(IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <summary>Creates the database on every strand that lacks it; refused before anything is created when a strand cannot be reached.</summary>
    public override void Create() => CreateAsync(IOBehavior.Synchronous, default).Synchronously();

    public override Task CreateAsync(CancellationToken cancellationToken = default) => CreateAsync(IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <summary>Drops the database on every strand that has it; refused before anything is dropped when a strand cannot be reached.</summary>
    public override void Delete() => DeleteAsync(IOBehavior.Synchronous, default).Synchronously();

    public override Task DeleteAsync(CancellationToken cancellationToken = default) => DeleteAsync(IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <summary>Drops the database wherever a strand has it (<see cref="Exists"/> asks whether every strand has it).</summary>
    public override bool EnsureDeleted() => DeleteAsync(IOBehavior.Synchronous, default).Synchronously();

    public override Task<bool> EnsureDeletedAsync(CancellationToken cancellationToken = default) => DeleteAsync(IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <summary>Whether every strand that can be reached has tables: <c>EnsureCreated</c> creates them where one lacks them.</summary>
    public override bool HasTables() => HasTablesAsync(IOBehavior.Synchronous, default).Synchronously();

    public override Task<bool> HasTablesAsync(CancellationToken cancellationToken = default) => HasTablesAsync(IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <summary>Creates the model's tables on the strands that lack them (see <see cref="CreateTablesAsync(IOBehavior, CancellationToken)"/>).</summary>
    public override void CreateTables() => CreateTablesAsync(IOBehavior.Synchronous, default).Synchronously();

    public override Task CreateTablesAsync(CancellationToken cancellationToken = default) => CreateTablesAsync(IOBehavior.Asynchronous, cancellationToken).AsTask();

    public override string GenerateCreateScript() => Provider.GenerateCreateScript();

    private async ValueTask<bool> ExistsAsync(IOBehavior io, CancellationToken cancellationToken)
    {
        var strands = await FindAsync(io, cancellationToken).ConfigureAwait(false);
        return strands.TrueForAll(s => s.Exists != false);
    }

    private async ValueTask<bool> HasTablesAsync(IOBehavior io, CancellationToken cancellationToken)
    {
        var strands = await FindTablesAsync(io, cancellationToken).ConfigureAwait(false);
        return strands.TrueForAll(s => s.Exists != false);
    }

    /// <summary>
    /// Creates the model's tables. When the strands agree (none has tables, or each has some), or one cannot be reached, by
    /// the context's provider creator through the context's connection: one schema change on every strand by Helix's rules
    /// (refused while a strand is not healthy), as plain EF runs it. When some strands have tables and others none (a
    /// strand whose database was just created beside one in use), on each strand that lacks them, by the provider's creator
    /// for that strand: routed, the statements would fail on the strands that have the tables, and the change be made on none.
    /// </summary>
    private async ValueTask CreateTablesAsync(IOBehavior io, CancellationToken cancellationToken)
    {
        var strands = await FindTablesAsync(io, cancellationToken).ConfigureAwait(false);
        if (strands.Exists(s => s.Exists is null) || strands.Select(s => s.Exists).Distinct().Count() == 1)
        {
            if (io == IOBehavior.Asynchronous)
            {
                await Provider.CreateTablesAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                Provider.CreateTables();
            }

            return;
        }

        foreach (var lacking in strands.Where(s => s.Exists == false))
        {
            await OnStrandAsync(lacking.Strand, retry: true, async creator => { await creator.CreateTablesAsync(cancellationToken).ConfigureAwait(false); return true; }, creator => { creator.CreateTables(); return true; }, io).ConfigureAwait(false);
        }

        await ProviderTypes.ReloadAsync(_dataSource, io).ConfigureAwait(false); // enums the tables' creation made, unseen by the routed path
    }

    private async ValueTask CreateAsync(IOBehavior io, CancellationToken cancellationToken)
    {
        var strands = ThrowIfAnyUnreachable(await FindAsync(io, cancellationToken).ConfigureAwait(false), "created");
        foreach (var missing in strands.Where(s => s.Exists == false))
        {
            await OnStrandAsync(missing.Strand, retry: true, async creator => { await creator.CreateAsync(cancellationToken).ConfigureAwait(false); return true; }, creator => { creator.Create(); return true; }, io).ConfigureAwait(false);
        }
    }

    private async ValueTask<bool> DeleteAsync(IOBehavior io, CancellationToken cancellationToken)
    {
        var strands = ThrowIfAnyUnreachable(await FindAsync(io, cancellationToken).ConfigureAwait(false), "dropped");
        var found = strands.FindAll(s => s.Exists == true);
        foreach (var existing in found)
        {
            await OnStrandAsync(existing.Strand, retry: true, async creator => { await creator.DeleteAsync(cancellationToken).ConfigureAwait(false); return true; }, creator => { creator.Delete(); return true; }, io).ConfigureAwait(false);
            ProviderPools.Clear(existing.Strand); // the strand's pooled connections were to the database dropped
        }

        return found.Count > 0;
    }

    /// <summary>Whether a strand has the database (the provider's own answer on that strand), or the fault that kept it from answering.</summary>
    private sealed record Presence(Strand Strand, bool? Exists, Exception? Fault);

    /// <summary>
    /// Asks each strand once, without the context's retries (a strand down is Helix's to route around, not to wait for).
    /// When none answers, asks again as EF without Helix asks its server: with the context's execution strategy, whose
    /// error, if none answers still, is the caller's.
    /// </summary>
    private async ValueTask<List<Presence>> FindAsync(IOBehavior io, CancellationToken cancellationToken)
    {
        var strands = await FindAsync(creator => creator.ExistsAsync(cancellationToken), creator => creator.Exists(), [], io).ConfigureAwait(false);
        _unreachable = [.. strands.Where(s => s.Exists is null).Select(s => s.Strand)];
        return strands;
    }

    // The strands the last question whether the database exists could not reach: EnsureCreated asks for tables next, and a
    // server that is down is not asked again (each ask waits for its connection timeout).
    private HashSet<Strand> _unreachable = [];

    // Presence here: whether the strand's database has tables.
    private ValueTask<List<Presence>> FindTablesAsync(IOBehavior io, CancellationToken cancellationToken) =>
        FindAsync(creator => creator.HasTablesAsync(cancellationToken), creator => creator.HasTables(), _unreachable, io);

    private async ValueTask<List<Presence>> FindAsync(Func<IRelationalDatabaseCreator, Task<bool>> async, Func<IRelationalDatabaseCreator, bool> sync, HashSet<Strand> unreachable, IOBehavior io)
    {
        var strands = await FindAsync(retry: false, async, sync, unreachable, io).ConfigureAwait(false);
        if (strands.TrueForAll(s => s.Exists is null))
        {
            strands = await FindAsync(retry: true, async, sync, unreachable, io).ConfigureAwait(false);
            if (strands.TrueForAll(s => s.Exists is null))
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(strands.First(s => s.Fault is not null).Fault!);
            }
        }

        return strands;
    }

    private async ValueTask<List<Presence>> FindAsync(bool retry, Func<IRelationalDatabaseCreator, Task<bool>> async, Func<IRelationalDatabaseCreator, bool> sync, HashSet<Strand> unreachable, IOBehavior io)
    {
        var strands = new List<Presence>();
        foreach (var strand in _dataSource.Strands)
        {
            if (unreachable.Contains(strand))
            {
                strands.Add(new(strand, null, null));
                continue;
            }

            try
            {
                strands.Add(new(strand, await OnStrandAsync(strand, retry, async, sync, io).ConfigureAwait(false), null));
            }
            catch (Exception e) when (IsStrandFault(e))
            {
                strands.Add(new(strand, null, e));
            }
        }

        return strands;
    }

    private static List<Presence> ThrowIfAnyUnreachable(List<Presence> strands, string done)
    {
        if (strands.Find(s => s.Exists is null) is { } unreachable)
        {
            throw new InvalidOperationException(
                $"EF Core creates and drops the database on every strand, and strand {unreachable.Strand.Name} cannot be reached ({unreachable.Fault?.Message}). Nothing was {done}: run it again once the strand is back.",
                unreachable.Fault);
        }

        return strands;
    }

    /// <summary>A strand fault, or one the provider's execution strategy wrapped (Npgsql's says "likely due to a transient failure").</summary>
    private bool IsStrandFault(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is DbException db && _dataSource.Classifier.Classify(db) == HelixErrorKind.StrandFault)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Runs <paramref name="async"/> or <paramref name="sync"/> on a creator of the provider's made for
    /// <paramref name="strand"/>: on a connection service of the provider's own, in the context's options with the
    /// strand's connection instead of the context's, disposed after; with the context's execution strategy when
    /// <paramref name="retry"/> says so, else with none that retries.
    /// </summary>
    private async ValueTask<T> OnStrandAsync<T>(Strand strand, bool retry, Func<IRelationalDatabaseCreator, Task<T>> async, Func<IRelationalDatabaseCreator, T> sync, IOBehavior io)
    {
        var options = ProviderConnectionSetup.OptionsWith(Dependencies.ContextOptions, relational => OnStrand(relational, strand));
        var connectionDependencies = services.GetRequiredService<RelationalConnectionDependencies>() with { ContextOptions = options };
        using var connection = (IRelationalConnection)ActivatorUtilities.CreateInstance(services, _types.Connection, _types.ConnectionTakesOptions ? [connectionDependencies, options] : [connectionDependencies]);
        var d = Dependencies;
        var strategy = retry ? d.ExecutionStrategy : new NonRetryingExecutionStrategy(d.CurrentContext.Context);
        // The record's strategy is read only, and its constructor is EF's "internal API" (EF1001), as for providers; this
        // package builds against one EF Core release line (10.0.x), and a change there fails its build, not a user's run.
#pragma warning disable EF1001
        var creatorDependencies = new RelationalDatabaseCreatorDependencies(
            connection, d.ModelDiffer, d.MigrationsSqlGenerator, d.MigrationCommandExecutor, d.SqlGenerationHelper, strategy, d.CurrentContext, d.ContextOptions, d.CommandLogger, d.ExceptionDetector);
#pragma warning restore EF1001
        var creator = (IRelationalDatabaseCreator)ActivatorUtilities.CreateInstance(services, _types.Creator, creatorDependencies, connection);
        return io == IOBehavior.Asynchronous ? await async(creator).ConfigureAwait(false) : sync(creator);
    }

    /// <summary>
    /// The strand's connection as the provider is to reach it on its own: its connection string, password included, when
    /// Helix made the strand from one (EF's Npgsql provider makes its admin connection from it); else an object of the
    /// data source the strand was given (Npgsql's admin connection is a clone of it, which keeps its password).
    /// </summary>
    private static RelationalOptionsExtension OnStrand(RelationalOptionsExtension relational, Strand strand) =>
        strand.OwnsDataSource
            ? relational.WithConnection(null).WithConnectionString(strand.ConnectionString)
            : relational.WithConnectionString(null).WithConnection(strand.SetUp(strand.ConnectionSource.CreateConnection()), owned: true);

    /// <summary>The provider's database creator and connection service types; whether the latter is made with the options too (Npgsql's is: it reads its data source from them).</summary>
    private sealed record ProviderClasses(Type Creator, Type Connection)
    {
        public bool ConnectionTakesOptions { get; } = Connection.GetConstructors().Any(c => c.GetParameters().Any(p => p.ParameterType == typeof(IDbContextOptions)));
    }

    // By provider options type: read once from the services the provider registers.
    private static readonly ConcurrentDictionary<Type, ProviderClasses> Classes = new();

    private static ProviderClasses ProviderClassesOf(IDbContextOptions options)
    {
        var provider = options.Extensions.Single(e => e.Info.IsDatabaseProvider);
        return Classes.GetOrAdd(provider.GetType(), _ =>
        {
            Type Implementation(Type service) =>
                ProviderServices.Serving(provider, service)?.ImplementationType
                ?? throw new NotSupportedException($"EF Core provider {provider.Info.LogFragment.Trim()} registers no {service.Name} type Helix can make for each strand.");
            return new ProviderClasses(Implementation(typeof(IRelationalDatabaseCreator)), Implementation(typeof(IRelationalConnection)));
        });
    }

    private static HelixRouter RouterOf(IDbContextOptions options) =>
        options.FindExtension<CoreOptionsExtension>()?.Interceptors?.OfType<HelixConnectionInterceptor>().FirstOrDefault()?.Router
        ?? throw new InvalidOperationException("The context's options have no Helix interceptors: configure it with UseHelix.");
}
