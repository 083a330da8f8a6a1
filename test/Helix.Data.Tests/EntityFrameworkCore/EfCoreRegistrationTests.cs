using Helix.Data.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Helix.Data.Tests.EntityFrameworkCore;

/// <summary>Every way an application registers a DbContext takes UseHelix: AddDbContext, AddDbContextPool, AddDbContextFactory, OnConfiguring.</summary>
public class EfCoreRegistrationTests
{
    public enum Registration
    {
        AddDbContext,
        AddDbContextPool,
        AddDbContextFactory,
        OnConfiguring,
    }

    [Test]
    public async Task Writes_reach_both_strands_whatever_the_registration([Values] Registration registration)
    {
        using var files = new SqliteStrands("ef-di-" + registration);
        var connectionString = files.ConnectionString();
        var services = new ServiceCollection();
        services.AddHelixDataSource(connectionString);
        switch (registration)
        {
            case Registration.AddDbContext:
                services.AddDbContext<ShopContext>((provider, o) => o.UseHelix(provider.GetRequiredService<HelixDataSource>(), (b, primary) => b.UseSqlite(primary)));
                break;
            case Registration.AddDbContextPool:
                services.AddDbContextPool<ShopContext>((provider, o) => o.UseHelix(provider.GetRequiredService<HelixDataSource>(), (b, primary) => b.UseSqlite(primary)));
                break;
            case Registration.AddDbContextFactory:
                services.AddDbContextFactory<ShopContext>(o => o.UseHelix(connectionString, (b, primary) => b.UseSqlite(primary)));
                break;
            case Registration.OnConfiguring:
                services.AddScoped<ShopContext>(_ => new ConfiguredShop(connectionString));
                break;
        }

        await using var provider = services.BuildServiceProvider();
        for (var round = 0; round < 3; round++)
        {
            // A scope per round, as a web request: a pooled context comes back with the same connection object.
            await using var scope = provider.CreateAsyncScope();
            await using var context = registration == Registration.AddDbContextFactory
                ? await scope.ServiceProvider.GetRequiredService<IDbContextFactory<ShopContext>>().CreateDbContextAsync()
                : scope.ServiceProvider.GetRequiredService<ShopContext>();
            if (round == 0)
            {
                await context.Database.EnsureCreatedAsync();
            }

            context.Customers.Add(new Customer { Name = "customer " + round });
            await context.SaveChangesAsync();
            Assert.That(await context.Customers.CountAsync(), Is.EqualTo(round + 1));
        }

        const string Names = "SELECT Name FROM Customers ORDER BY Name";
        Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.EqualTo(files.Rows(HelixStrand.Primary, Names)).And.Count.EqualTo(3));
    }

    private sealed class ConfiguredShop(string connectionString) : ShopContext(new DbContextOptions<ShopContext>())
    {
        protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder) =>
            optionsBuilder.UseHelix(connectionString, (b, primary) => b.UseSqlite(primary));
    }
}
