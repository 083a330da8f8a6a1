using Helix.Data.IntegrationTests.Support;
using Helix.Data.Tests.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary>A caller's cancellation of EF's queries and writes (an HTTP request aborted), as plain EF Core gives it.</summary>
public class EfCorePostgresCancellationTests : PostgresTestBase
{
    private const string Names = "SELECT \"Name\" FROM \"Customers\" ORDER BY \"Name\"";

    [Test]
    public async Task A_query_cancelled_by_the_caller_throws_OperationCanceledException_and_fails_over_nowhere()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using var context = await CreatedAsync(dataSource);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        Assert.That(
            async () => await context.Database.SqlQueryRaw<int>("SELECT 1 AS \"Value\" FROM pg_sleep(30)").ToListAsync(cancel.Token),
            Throws.InstanceOf<OperationCanceledException>());

        Assert.Multiple(async () =>
        {
            Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy), "a caller's cancellation says nothing about a strand");
            Assert.That(await SleepersAsync(), Is.Zero, "the query was cancelled on the server, not run again on the other strand");
            Assert.That(await context.Customers.CountAsync(), Is.EqualTo(1), "the context goes on");
        });
    }

    [Test]
    public async Task A_write_cancelled_by_the_caller_on_both_strands_throws_OperationCanceledException_and_changes_neither()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using var context = await CreatedAsync(dataSource);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        Assert.That(
            async () => await context.Database.ExecuteSqlRawAsync("UPDATE \"Customers\" SET \"Name\" = 'changed' WHERE pg_sleep(30) IS NOT NULL", cancel.Token),
            Throws.InstanceOf<OperationCanceledException>());

        Assert.Multiple(async () =>
        {
            Assert.That(dataSource.GetStatus().Strands.Select(s => s.Backlog), Is.All.Zero, "nothing applied anywhere: nothing to replay");
            Assert.That(await RowsAsync(HelixStrand.Primary, Names), Is.EqualTo(new[] { "Alice" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, Names), Is.EqualTo(new[] { "Alice" }));
            Assert.That(await SleepersAsync(), Is.Zero, "cancelled on both servers");
        });

        context.Customers.Single().Name = "Alice B.";
        await context.SaveChangesAsync();
        Assert.That(await RowsAsync(HelixStrand.Secondary, Names), Is.EqualTo(new[] { "Alice B." }), "the context writes on both after");
    }

    private static async Task<ShopContext> CreatedAsync(HelixDataSource dataSource)
    {
        var context = new ShopContext(new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options);
        await context.Database.EnsureCreatedAsync();
        context.Customers.Add(new Customer { Name = "Alice" });
        await context.SaveChangesAsync();
        return context;
    }

    /// <summary>Statements still sleeping on either server (a cancellation that did not land, or a read run again elsewhere).</summary>
    private async Task<int> SleepersAsync()
    {
        var count = 0;
        foreach (var strand in new[] { HelixStrand.Primary, HelixStrand.Secondary })
        {
            var rows = await RowsAsync(strand, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()");
            count += int.Parse(rows.Single(), System.Globalization.CultureInfo.InvariantCulture);
        }

        return count;
    }
}
