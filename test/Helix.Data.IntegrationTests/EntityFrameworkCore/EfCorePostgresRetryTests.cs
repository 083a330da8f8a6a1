using Dapper;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Tests.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary>EF Core's retrying execution strategy through Helix when both strands fault at once.</summary>
public class EfCorePostgresRetryTests : PostgresTestBase
{
    [TestCase(false, false, TestName = "a query, plain Npgsql")]
    [TestCase(true, false, TestName = "a query through Helix")]
    [TestCase(true, true, TestName = "a query on the context's open connection through Helix")]
    public async Task A_query_whose_connections_both_servers_ended_is_retried_by_EnableRetryOnFailure(bool helix, bool opened)
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: ";Application Name=helix-efretry"));
        var options = await CreatedAsync(dataSource, helix);
        await using var context = new ShopContext(options);
        if (opened)
        {
            await context.Database.OpenConnectionAsync();
        }

        Assert.That(await context.Customers.CountAsync(), Is.EqualTo(1));
        await EndSessionsAsync();
        Assert.That(await context.Customers.CountAsync(), Is.EqualTo(1), "retried by EF's strategy");
    }

    [TestCase(false, false, TestName = "SaveChanges, plain Npgsql")]
    [TestCase(true, false, TestName = "SaveChanges through Helix")]
    [TestCase(false, true, TestName = "a user transaction through the execution strategy, plain Npgsql")]
    [TestCase(true, true, TestName = "a user transaction through the execution strategy, through Helix")]
    public async Task SaveChanges_in_a_transaction_whose_connections_both_servers_ended_is_retried_by_EnableRetryOnFailure(bool helix, bool userTransaction)
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: ";Application Name=helix-efretry"));
        var options = await CreatedAsync(dataSource, helix);
        await using (var context = new ShopContext(options))
        {
            await context.Database.OpenConnectionAsync();
            Assert.That(await context.Customers.CountAsync(), Is.EqualTo(1));
            await EndSessionsAsync();
            context.Customers.AddRange(new Customer { Name = "b" }, new Customer { Name = "c" });
            if (userTransaction)
            {
                // As EF's documentation has it: the transaction, its SaveChanges (changes kept until it commits) and the
                // commit, retried as one.
                var attempts = 0;
                await context.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
                {
                    attempts++;
                    await using var transaction = await context.Database.BeginTransactionAsync();
                    await context.SaveChangesAsync(acceptAllChangesOnSuccess: false);
                    await transaction.CommitAsync();
                });
                context.ChangeTracker.AcceptAllChanges();
                Assert.That(attempts, Is.EqualTo(2), "failed once, retried by EF's strategy");
            }
            else
            {
                Assert.That(await context.SaveChangesAsync(), Is.EqualTo(2), "retried by EF's strategy");
            }
        }

        var expected = new[] { "a", "b", "c" };
        const string Names = "SELECT \"Name\" FROM \"Customers\" ORDER BY \"Name\"";
        if (helix)
        {
            await WaitForReplayAsync(dataSource);
            Assert.That(await RowsAsync(HelixStrand.Secondary, Names), Is.EqualTo(expected));
        }

        Assert.That(await RowsAsync(HelixStrand.Primary, Names), Is.EqualTo(expected));
    }

    [Test]
    public async Task With_both_servers_down_EnableRetryOnFailure_serves_the_query_and_SaveChanges_once_they_return()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = HelixDataSource.Create(HelixConnectionString(inner: ";Timeout=2;Command Timeout=5;Application Name=helix-efretry"));
        var options = new DbContextOptionsBuilder<ShopContext>()
            .UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary, npgsql => npgsql.EnableRetryOnFailure(30, TimeSpan.FromMilliseconds(500), null)))
            .Options;
        await using (var context = new ShopContext(options))
        {
            await context.Database.EnsureCreatedAsync();
            context.Customers.Add(new Customer { Name = "a" });
            await context.SaveChangesAsync();
        }

        await Task.WhenAll(PostgresServers.Primary.KillAsync(), PostgresServers.Secondary.KillAsync());
        await using (var context = new ShopContext(options))
        {
            var counting = context.Customers.CountAsync();
            await Task.WhenAll(PostgresServers.Primary.StartAsync(), PostgresServers.Secondary.StartAsync());
            Assert.That(await counting.WaitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(1), "retried by EF's strategy until the servers answered");
            context.Customers.AddRange(new Customer { Name = "b" }, new Customer { Name = "c" });
            Assert.That(await context.SaveChangesAsync(), Is.EqualTo(2));
        }

        await WaitForReplayAsync(dataSource);
        const string Names = "SELECT \"Name\" FROM \"Customers\" ORDER BY \"Name\"";
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, Names), Is.EqualTo(new[] { "a", "b", "c" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, Names), Is.EqualTo(new[] { "a", "b", "c" }));
        });
    }

    /// <remarks>
    /// Contract amendment 37: a deadlock on the first strand is the provider's deadlock, which EF's strategy retries.
    /// Before, the statement ran on the second strand, EF saw success and the first strand was marked Failed.
    /// </remarks>
    [Test]
    public async Task Transactions_that_deadlock_are_retried_by_EnableRetryOnFailure_and_no_strand_fails()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString(inner: ";Command Timeout=10;Options=-c deadlock_timeout=20ms"));
        var options = new DbContextOptionsBuilder<ShopContext>()
            .UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary, npgsql => npgsql.EnableRetryOnFailure(50, TimeSpan.FromMilliseconds(20), null)))
            .Options;
        await using (var context = new ShopContext(options))
        {
            await context.Database.EnsureCreatedAsync();
            context.Customers.AddRange(new Customer { Name = "a" }, new Customer { Name = "b" });
            await context.SaveChangesAsync();
        }

        var attempts = 0;
        async Task WorkAsync(int worker)
        {
            var (first, second) = worker % 2 == 0 ? ("a", "b") : ("b", "a");
            for (var i = 0; i < 10; i++)
            {
                await using var context = new ShopContext(options);
                await context.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
                {
                    Interlocked.Increment(ref attempts);
                    await using var transaction = await context.Database.BeginTransactionAsync();
                    await context.Customers.Where(c => c.Name == first).ExecuteUpdateAsync(s => s.SetProperty(c => c.Name, c => c.Name));
                    await context.Customers.Where(c => c.Name == second).ExecuteUpdateAsync(s => s.SetProperty(c => c.Name, c => c.Name));
                    await transaction.CommitAsync();
                });
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() => WorkAsync(w))));

        TestContext.Out.WriteLine($"attempts for 40 transactions: {attempts}");
        Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy));
        Assert.That(dataSource.GetStatus().IsConverged, Is.True, "nothing replayed: no strand left a transaction");
    }

    private async Task<DbContextOptions<ShopContext>> CreatedAsync(HelixDataSource dataSource, bool helix)
    {
        var options = helix
            ? new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary, Retrying)).Options
            : new DbContextOptionsBuilder<ShopContext>().UseNpgsql(PostgresServers.Primary.ConnectionString(Database) + ";Application Name=helix-efretry", Retrying).Options;
        await using var context = new ShopContext(options);
        await context.Database.EnsureCreatedAsync();
        context.Customers.Add(new Customer { Name = "a" });
        await context.SaveChangesAsync();
        return options;

        static void Retrying(Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.NpgsqlDbContextOptionsBuilder npgsql) =>
            npgsql.EnableRetryOnFailure(3, TimeSpan.FromMilliseconds(100), null);
    }

    private async Task EndSessionsAsync()
    {
        foreach (var strand in new[] { HelixStrand.Primary, HelixStrand.Secondary })
        {
            await using var admin = new NpgsqlConnection(PostgresServers.Of(strand).ConnectionString(Database) + ";Pooling=false");
            await admin.OpenAsync();
            await admin.ExecuteScalarAsync<long>("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'helix-efretry') x");
        }
    }
}
