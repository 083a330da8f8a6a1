using Helix.Data.IntegrationTests.Support;
using Helix.Data.Tests.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary>
/// EF Core's SaveChanges past its command timeout on rows locked on both servers (contract amendment 31): EF's own
/// DbUpdateException around Npgsql's timeout, as without Helix, and the change never applied afterwards.
/// </summary>
public class EfCorePostgresTimeoutTests : PostgresTestBase
{
    [TestCase(1, TestName = "one change (no transaction)")]
    [TestCase(2, TestName = "two changes (SaveChanges' transaction)")]
    public async Task SaveChanges_past_its_timeout_on_rows_locked_on_both_servers_fails_as_with_Npgsql_and_is_never_applied(int changes)
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        var options = new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options;
        var ids = new List<Guid>();
        await using (var context = new ShopContext(options))
        {
            await context.Database.EnsureCreatedAsync();
            for (var i = 0; i < changes; i++)
            {
                var customer = new Customer { Name = "before" };
                context.Customers.Add(customer);
                ids.Add(customer.Id);
            }

            await context.SaveChangesAsync();
        }

        var holders = new List<(NpgsqlConnection, NpgsqlTransaction)>();
        foreach (var strand in new[] { HelixStrand.Primary, HelixStrand.Secondary })
        {
            var holder = new NpgsqlConnection(PostgresServers.Of(strand).ConnectionString(Database) + ";Pooling=false");
            await holder.OpenAsync();
            var held = await holder.BeginTransactionAsync();
            await using var lockRows = new NpgsqlCommand("SELECT 1 FROM \"Customers\" FOR UPDATE", holder, held);
            await lockRows.ExecuteNonQueryAsync();
            holders.Add((holder, held));
        }

        await using (var context = new ShopContext(options))
        {
            context.Database.SetCommandTimeout(1);
            foreach (var customer in await context.Customers.ToListAsync())
            {
                customer.Name = "after";
            }

            // Npgsql's EF provider wraps a transient error in its own InvalidOperationException when retries are off.
            var thrown = Assert.CatchAsync<Exception>(() => context.SaveChangesAsync());
            var update = thrown as DbUpdateException ?? thrown!.InnerException as DbUpdateException;
            Assert.Multiple(() =>
            {
                Assert.That(update?.InnerException, Is.InstanceOf<NpgsqlException>().And.Property("InnerException").InstanceOf<TimeoutException>(), thrown!.ToString());
                Assert.That(dataSource.GetStatus().IsConverged, Is.True, "nothing queued");
                Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy));
            });
        }

        foreach (var (holder, held) in holders)
        {
            await held.RollbackAsync();
            await holder.DisposeAsync();
        }

        await using (var context = new ShopContext(options))
        {
            context.Customers.Add(new Customer { Name = "later" });
            await context.SaveChangesAsync();
        }

        await WaitForReplayAsync(dataSource);
        const string Names = "SELECT \"Name\" FROM \"Customers\" ORDER BY \"Name\"";
        var expected = Enumerable.Repeat("before", changes).Append("later").ToArray();
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, Names), Is.EqualTo(expected), "the timed-out change never applied");
            Assert.That(await RowsAsync(HelixStrand.Secondary, Names), Is.EqualTo(expected));
        });
    }
}
