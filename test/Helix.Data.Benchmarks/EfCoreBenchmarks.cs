using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Helix.Data.Benchmarks;

/// <summary>
/// EF Core as an application uses it: a new context per operation, a point query by key (no tracking), and a
/// <c>SaveChanges</c> of 10 new entities. Through <c>UseHelix</c> over two strands, and through the plain EF provider on
/// each database (the query's baseline is the primary's; a dual write is compared with each strand's own).
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class EfCoreBenchmarks
{
    private static readonly Guid SeededId = Guid.Parse("0193d2a0-0000-7000-8000-0000000000ef");
    private Stores? _stores;
    private DbContextOptions<BenchContext> _primary = null!;
    private DbContextOptions<BenchContext> _secondary = null!;
    private DbContextOptions<BenchContext> _helix = null!;
    private DbContextOptions<BenchContext> _intercepted = null!;
    private PooledDbContextFactory<BenchContext> _primaryPool = null!;
    private PooledDbContextFactory<BenchContext> _helixPool = null!;
    private PooledDbContextFactory<BenchContext> _interceptedPool = null!;

    /// <summary>Gets or sets the provider: <c>Sqlite</c> or <c>Postgres</c>.</summary>
    [ParamsSource(nameof(Providers))]
    public string Provider { get; set; } = "Sqlite";

    /// <summary>Gets the providers to run (<c>HELIX_BENCH_PROVIDERS</c> narrows them).</summary>
    public static IEnumerable<string> Providers => DapperBenchmarks.Providers;

    [GlobalSetup]
    public void Setup()
    {
        _stores = Stores.Create(Provider);
        _primary = Options(b => Use(b, _stores.Primary));
        _secondary = Options(b => Use(b, _stores.Secondary));
        _helix = Options(b => b.UseHelix(_stores.Helix, Use));
        _intercepted = Options(b => Use(b.AddInterceptors(new NoCommandInterceptor(), new NoConnectionInterceptor()), _stores.Primary));
        _primaryPool = new PooledDbContextFactory<BenchContext>(_primary);
        _helixPool = new PooledDbContextFactory<BenchContext>(_helix);
        _interceptedPool = new PooledDbContextFactory<BenchContext>(_intercepted);
        foreach (var options in new[] { _primary, _secondary })
        {
            using var context = new BenchContext(options);
            context.GetService<IRelationalDatabaseCreator>().CreateTables();
            context.Orders.Add(new BenchOrder { Id = SeededId, Customer = "seeded", Total = 1, Lines = 1 });
            context.SaveChanges();
        }

        if (HelixQuery() != "seeded" || PlainQuery() != "seeded")
        {
            throw new InvalidOperationException("The seeded row was not read back.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _stores?.Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("EF query")]
    public string PlainQuery() => Query(_primary);

    [Benchmark, BenchmarkCategory("EF query")]
    public string HelixQuery() => Query(_helix);

    /// <summary>Plain EF Core with a command and a connection interceptor that do nothing: what EF itself spends on a context that has them, as Helix's has (not a benchmark: <c>eng/instructions.sh</c> and <c>--paired-ef</c> count it).</summary>
    public string InterceptedQuery() => Query(_intercepted);

    /// <summary><see cref="InterceptedQuery"/> with pooled contexts.</summary>
    public string InterceptedPooledQuery() => PooledQuery(_interceptedPool);

    [Benchmark(Baseline = true), BenchmarkCategory("EF query, pooled contexts")]
    public string PlainPooledQuery() => PooledQuery(_primaryPool);

    [Benchmark, BenchmarkCategory("EF query, pooled contexts")]
    public string HelixPooledQuery() => PooledQuery(_helixPool);

    [Benchmark(Baseline = true), BenchmarkCategory("EF SaveChanges of 10")]
    public Task<int> PlainPrimarySave() => SaveAsync(_primary);

    [Benchmark, BenchmarkCategory("EF SaveChanges of 10")]
    public Task<int> PlainSecondarySave() => SaveAsync(_secondary);

    [Benchmark, BenchmarkCategory("EF SaveChanges of 10")]
    public Task<int> HelixSave() => SaveAsync(_helix);

    [Benchmark(Baseline = true), BenchmarkCategory("EF SaveChanges of 1")]
    public Task<int> PlainPrimarySaveOne() => SaveAsync(_primary, count: 1);

    [Benchmark, BenchmarkCategory("EF SaveChanges of 1")]
    public Task<int> PlainSecondarySaveOne() => SaveAsync(_secondary, count: 1);

    /// <summary>One entity: EF uses no transaction for it, Helix one (contract amendment 39, racing saves in the same order on both strands).</summary>
    [Benchmark, BenchmarkCategory("EF SaveChanges of 1")]
    public Task<int> HelixSaveOne() => SaveAsync(_helix, count: 1);

    private static string Query(DbContextOptions<BenchContext> options)
    {
        using var context = new BenchContext(options);
        return context.Orders.AsNoTracking().Where(o => o.Id == SeededId).Select(o => o.Customer).Single();
    }

    private static string PooledQuery(PooledDbContextFactory<BenchContext> pool)
    {
        using var context = pool.CreateDbContext();
        return context.Orders.AsNoTracking().Where(o => o.Id == SeededId).Select(o => o.Customer).Single();
    }

    private static async Task<int> SaveAsync(DbContextOptions<BenchContext> options, int count = 10)
    {
        await using var context = new BenchContext(options);
        for (var i = 0; i < count; i++)
        {
            context.Orders.Add(new BenchOrder { Customer = "customer " + i, Total = i, Lines = i });
        }

        return await context.SaveChangesAsync();
    }

    private static DbContextOptions<BenchContext> Options(Action<DbContextOptionsBuilder> configure)
    {
        var builder = new DbContextOptionsBuilder<BenchContext>();
        configure(builder);
        return builder.Options;
    }

    private void Use(DbContextOptionsBuilder builder, string connectionString)
    {
        if (Provider == "Sqlite")
        {
            builder.UseSqlite(connectionString);
        }
        else
        {
            builder.UseNpgsql(connectionString);
        }
    }
}

/// <summary>A command interceptor that does nothing: plain EF Core with interceptors, for <see cref="EfCoreBenchmarks.InterceptedQuery"/>.</summary>
internal sealed class NoCommandInterceptor : Microsoft.EntityFrameworkCore.Diagnostics.DbCommandInterceptor;

/// <summary>A connection interceptor that does nothing, for <see cref="EfCoreBenchmarks.InterceptedQuery"/>.</summary>
internal sealed class NoConnectionInterceptor : Microsoft.EntityFrameworkCore.Diagnostics.DbConnectionInterceptor;

/// <summary>An order with a client-generated key.</summary>
public sealed class BenchOrder
{
    public Guid Id { get; set; }

    public string Customer { get; set; } = string.Empty;

    public decimal Total { get; set; }

    public int Lines { get; set; }
}

/// <summary>The benchmark's context.</summary>
public sealed class BenchContext(DbContextOptions<BenchContext> options) : DbContext(options)
{
    public DbSet<BenchOrder> Orders => Set<BenchOrder>();
}
