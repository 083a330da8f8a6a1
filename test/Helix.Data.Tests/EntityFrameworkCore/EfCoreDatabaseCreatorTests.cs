using Helix.Data.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Helix.Data.Tests.EntityFrameworkCore;

/// <summary>EF's database creator (<c>EnsureDeleted</c>, <c>EnsureCreated</c>, <c>Exists</c>) on both strands.</summary>
public class EfCoreDatabaseCreatorTests
{
    [TestCase(true)]
    [TestCase(false)]
    public async Task EnsureDeleted_deletes_both_files_and_EnsureCreated_makes_both_again(bool async)
    {
        using var files = new SqliteStrands("ef-creator");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            context.Customers.Add(new Customer { Name = "old" });
            await context.SaveChangesAsync();
        }

        await using (var context = Shop(dataSource))
        {
            Assert.That(async ? await context.Database.EnsureDeletedAsync() : context.Database.EnsureDeleted(), Is.True);
        }

        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(files.PrimaryPath), Is.False, "primary");
            Assert.That(File.Exists(files.SecondaryPath), Is.False, "secondary");
        });

        await using (var context = Shop(dataSource))
        {
            Assert.That(async ? await context.Database.EnsureCreatedAsync() : context.Database.EnsureCreated(), Is.True);
            context.Customers.Add(new Customer { Name = "new" });
            await context.SaveChangesAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT Name FROM Customers"), Is.EqualTo(new[] { "new" }));
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT Name FROM Customers"), Is.EqualTo(new[] { "new" }));
        });
    }

    [TestCase(true, false)]
    [TestCase(false, false)]
    [TestCase(true, true)]
    [TestCase(false, true)]
    public async Task EnsureCreated_beside_a_strand_in_use_makes_the_tables_on_the_new_strand_only(bool async, bool emptyFileThere)
    {
        // A strand put in beside one in use (a new server, an empty file): before, the tables' DDL went to both strands,
        // failed on the one that had them ("table already exists"), and the schema change was made on neither.
        using var files = new SqliteStrands("ef-creator-new-strand");
        await using (var plain = new ShopContext(new DbContextOptionsBuilder<ShopContext>().UseSqlite($"Data Source={files.PrimaryPath};Pooling=False").Options))
        {
            await plain.Database.EnsureCreatedAsync();
            plain.Customers.Add(new Customer { Name = "old" });
            await plain.SaveChangesAsync();
        }

        File.Delete(files.SecondaryPath);
        if (emptyFileThere)
        {
            await File.WriteAllBytesAsync(files.SecondaryPath, []);
        }

        const string Tables = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using (var context = Shop(dataSource))
        {
            Assert.That(async ? await context.Database.EnsureCreatedAsync() : context.Database.EnsureCreated(), Is.True, "tables made");
            Assert.That(async ? await context.Database.EnsureCreatedAsync() : context.Database.EnsureCreated(), Is.False, "then nothing to make");
            context.Customers.Add(new Customer { Name = "new" });
            await context.SaveChangesAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Secondary, Tables), Is.EqualTo(files.Rows(HelixStrand.Primary, Tables)).And.Contains("Customers"));
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT Name FROM Customers ORDER BY Name"), Is.EqualTo(new[] { "new", "old" }), "the primary's rows kept");
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT Name FROM Customers"), Is.EqualTo(new[] { "new" }), "rows written since (a resync copies the rest)");
            Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy));
        });
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task EnsureCreated_seeds_both_strands_through_UseSeeding(bool async)
    {
        using var files = new SqliteStrands("ef-seeding");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        var options = new DbContextOptionsBuilder<ShopContext>()
            .UseHelix(dataSource, (b, primary) => b.UseSqlite(primary))
            .UseSeeding((context, _) => Seed(context))
            .UseAsyncSeeding(async (context, _, cancellationToken) =>
            {
                if (!await context.Set<Customer>().AnyAsync(cancellationToken))
                {
                    context.Set<Customer>().Add(new Customer { Name = "seeded" });
                    await context.SaveChangesAsync(cancellationToken);
                }
            })
            .Options;
        for (var run = 0; run < 2; run++)
        {
            await using var context = new ShopContext(options);
            _ = async ? await context.Database.EnsureCreatedAsync() : context.Database.EnsureCreated();
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT Name FROM Customers"), Is.EqualTo(new[] { "seeded" }), "primary: seeded once");
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT Name FROM Customers"), Is.EqualTo(new[] { "seeded" }), "secondary: seeded once");
        });

        static void Seed(DbContext context)
        {
            var customers = context.Set<Customer>();
            if (!customers.Any())
            {
                customers.Add(new Customer { Name = "seeded" });
                context.SaveChanges();
            }
        }
    }

    private static ShopContext Shop(HelixDataSource dataSource) =>
        new(new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).Options);
}
