using Helix.Data.IntegrationTests.Support;
using Helix.Data.Tests.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary>EF's Npgsql provider creating and dropping the database itself (<c>EnsureCreated</c> on servers without it, <c>EnsureDeleted</c>).</summary>
public class EfCorePostgresDatabaseTests : PostgresTestBase
{
    [TestCase(true)]
    [TestCase(false)]
    public async Task EnsureCreated_creates_the_database_on_both_servers_and_EnsureDeleted_drops_it_on_both(bool async)
    {
        var name = Database + "_new";
        await using var dataSource = HelixDataSource.Create(ConnectionStringFor(name));
        for (var round = 1; round <= 2; round++)
        {
            await using (var context = Shop(dataSource))
            {
                Assert.That(async ? await context.Database.EnsureCreatedAsync() : context.Database.EnsureCreated(), Is.True, $"round {round}: created");
                context.Customers.Add(ShopData.Alice());
                await context.SaveChangesAsync();
                Assert.That(await context.Lines.CountAsync(), Is.EqualTo(3), $"round {round}: read back");
            }

            Assert.Multiple(async () =>
            {
                Assert.That(await PostgresServers.Primary.HasDatabaseAsync(name), Is.True, $"round {round}: primary");
                Assert.That(await PostgresServers.Secondary.HasDatabaseAsync(name), Is.True, $"round {round}: secondary");
                Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy), $"round {round}: no strand met a connection to the database dropped");
            });

            await using (var context = Shop(dataSource))
            {
                Assert.That(async ? await context.Database.EnsureDeletedAsync() : context.Database.EnsureDeleted(), Is.True, $"round {round}: deleted");
                Assert.That(async ? await context.Database.EnsureDeletedAsync() : context.Database.EnsureDeleted(), Is.False, $"round {round}: nothing left to delete");
            }

            Assert.Multiple(async () =>
            {
                Assert.That(await PostgresServers.Primary.HasDatabaseAsync(name), Is.False, $"round {round}: primary");
                Assert.That(await PostgresServers.Secondary.HasDatabaseAsync(name), Is.False, $"round {round}: secondary");
            });
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task EnsureCreated_beside_a_server_in_use_creates_the_database_and_its_tables_on_the_new_server_only(bool async)
    {
        var name = Database + "_half";
        await using (var plain = new ShopContext(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(PostgresServers.Primary.ConnectionString(name)).Options))
        {
            await plain.Database.EnsureCreatedAsync();
            plain.Customers.Add(new Customer { Name = "old" });
            await plain.SaveChangesAsync();
        }

        NpgsqlConnection.ClearAllPools();
        await using var dataSource = HelixDataSource.Create(ConnectionStringFor(name));
        await using (var context = Shop(dataSource))
        {
            Assert.That(async ? await context.Database.EnsureCreatedAsync() : context.Database.EnsureCreated(), Is.True, "created on the secondary");
            Assert.That(async ? await context.Database.EnsureCreatedAsync() : context.Database.EnsureCreated(), Is.False, "then nothing to make");
            context.Customers.Add(new Customer { Name = "new" });
            await context.SaveChangesAsync();
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await PostgresServers.Secondary.HasDatabaseAsync(name), Is.True);
            Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy));
        });
        await using (var plain = new ShopContext(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(PostgresServers.Primary.ConnectionString(name)).Options))
        {
            Assert.That(await plain.Customers.OrderBy(c => c.Name).Select(c => c.Name).ToListAsync(), Is.EqualTo(new[] { "new", "old" }), "the primary's rows kept");
        }

        await using (var plain = new ShopContext(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(PostgresServers.Secondary.ConnectionString(name)).Options))
        {
            Assert.That(await plain.Customers.Select(c => c.Name).ToListAsync(), Is.EqualTo(new[] { "new" }), "rows written since (a resync copies the rest)");
        }

        NpgsqlConnection.ClearAllPools();
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureDeletedAsync();
        }
    }

    [Test]
    public async Task Migrate_creates_the_database_on_both_servers()
    {
        var name = Database + "_migrated";
        await using var dataSource = HelixDataSource.Create(ConnectionStringFor(name));
        await using (var context = new MemoContext(new DbContextOptionsBuilder<MemoContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options))
        {
            await context.Database.MigrateAsync();
            context.Memos.Add(new Memo { Id = Guid.NewGuid(), Text = "first" });
            await context.SaveChangesAsync();
            Assert.That(await context.Database.CanConnectAsync(), Is.True);
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await PostgresServers.Primary.HasDatabaseAsync(name), Is.True, "primary");
            Assert.That(await PostgresServers.Secondary.HasDatabaseAsync(name), Is.True, "secondary");
        });

        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureDeletedAsync();
        }
    }

    [Test]
    public async Task With_a_server_down_an_existing_database_is_found_and_a_missing_one_is_not_created_anywhere()
    {
        PostgresServers.RequireFaultControl();
        await using var existing = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: ";Timeout=2"));
        await using (var context = Shop(existing))
        {
            await context.Database.EnsureCreatedAsync();
        }

        var name = Database + "_missing";
        await using var missing = HelixDataSource.Create(ConnectionStringFor(name, ";Timeout=2"));
        await PostgresServers.Secondary.KillAsync();
        var failures = new FailedOpens();
        await using (var context = new ShopContext(new DbContextOptionsBuilder<ShopContext>()
            .AddInterceptors(failures)
            .UseHelix(existing, (b, primary) => b.UseNpgsql(primary, npgsql => npgsql.EnableRetryOnFailure(5, TimeSpan.FromSeconds(2), null))).Options))
        {
            Assert.That(await context.Database.EnsureCreatedAsync(), Is.False, "an application's start: the database is there on the server that answers");
            Assert.That(await context.Database.CanConnectAsync(), Is.True);
        }

        Assert.That(failures.Count, Is.InRange(1, 2), "the server down asked at most once by EnsureCreated and once by CanConnect, not again and again by the context's retrying execution strategy");

        await using (var context = Shop(missing))
        {
            Assert.That(
                () => context.Database.EnsureCreatedAsync(),
                Throws.InvalidOperationException.With.Message.Contains("strand secondary cannot be reached").And.Message.Contains("Nothing was created"));
        }

        Assert.That(await PostgresServers.Primary.HasDatabaseAsync(name), Is.False, "created on neither");
    }

    private static string ConnectionStringFor(string database, string inner = "") =>
        $"Helix;Provider=Npgsql;Primary=\"{PostgresServers.Primary.ConnectionString(database)}{inner}\";Secondary=\"{PostgresServers.Secondary.ConnectionString(database)}{inner}\"";

    /// <summary>Counts the opens that failed (a connection refused) and the commands that did (a pooled connection the server's end broke).</summary>
    private sealed class FailedOpens : Microsoft.EntityFrameworkCore.Diagnostics.DbConnectionInterceptor, Microsoft.EntityFrameworkCore.Diagnostics.IDbCommandInterceptor
    {
        private int _count;

        public int Count => _count;

        public override void ConnectionFailed(System.Data.Common.DbConnection connection, Microsoft.EntityFrameworkCore.Diagnostics.ConnectionErrorEventData eventData) => Interlocked.Increment(ref _count);

        public override Task ConnectionFailedAsync(System.Data.Common.DbConnection connection, Microsoft.EntityFrameworkCore.Diagnostics.ConnectionErrorEventData eventData, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _count);
            return Task.CompletedTask;
        }

        public void CommandFailed(System.Data.Common.DbCommand command, Microsoft.EntityFrameworkCore.Diagnostics.CommandErrorEventData eventData) => Interlocked.Increment(ref _count);

        public Task CommandFailedAsync(System.Data.Common.DbCommand command, Microsoft.EntityFrameworkCore.Diagnostics.CommandErrorEventData eventData, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _count);
            return Task.CompletedTask;
        }
    }

    private static ShopContext Shop(HelixDataSource dataSource) =>
        new(new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options);
}
