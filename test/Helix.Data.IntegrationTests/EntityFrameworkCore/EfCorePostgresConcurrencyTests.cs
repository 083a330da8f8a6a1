using System.Collections.Concurrent;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Tests.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary>Many pooled contexts at once on one data source, as a web application runs them, while a server dies and returns.</summary>
public class EfCorePostgresConcurrencyTests : PostgresTestBase
{
    private const int Workers = 6;
    private const int PerWorker = 30;

    [TestCase(HelixStrand.Primary)]
    [TestCase(HelixStrand.Secondary)]
    public async Task Concurrent_pooled_contexts_keep_every_acknowledged_SaveChanges_across_a_server_killed_and_restarted(HelixStrand killed)
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: ";Timeout=3;Command Timeout=5"));
        var factory = new PooledDbContextFactory<ShopContext>(
            new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options, poolSize: 4);
        await using (var context = factory.CreateDbContext())
        {
            await context.Database.EnsureCreatedAsync();
        }

        var acknowledged = new ConcurrentBag<string>();
        var killAt = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var restartAt = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = 0;
        var doneAtKill = -1; // the restart waits for SaveChanges acknowledged after the kill: stopping the server takes a while
        async Task WorkAsync(int worker)
        {
            for (var i = 0; i < PerWorker; i++)
            {
                var name = $"w{worker}-{i}";
                await using var context = factory.CreateDbContext();
                context.Customers.Add(new Customer { Name = name });
                await context.SaveChangesAsync();
                acknowledged.Add(name);
                if (await context.Customers.CountAsync(c => c.Name == name) != 1)
                {
                    throw new InvalidOperationException($"{name} was acknowledged, and its own context's query did not find it once.");
                }

                var count = Interlocked.Increment(ref done);
                if (count == Workers * PerWorker / 3)
                {
                    killAt.TrySetResult();
                }
                else if (Volatile.Read(ref doneAtKill) is var atKill and >= 0 && count >= atKill + (Workers * PerWorker / 6))
                {
                    restartAt.TrySetResult();
                }
            }
        }

        var server = PostgresServers.Of(killed);
        var stateWhileDown = HelixStrandState.Healthy;
        async Task FaultsAsync()
        {
            await killAt.Task;
            await server.KillAsync();
            Volatile.Write(ref doneAtKill, Volatile.Read(ref done));
            await restartAt.Task;
            stateWhileDown = dataSource.GetStatus()[killed].State;
            await server.StartAsync();
        }

        var workers = Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(() => WorkAsync(w))));
        _ = workers.ContinueWith(_ => restartAt.TrySetResult(), TaskScheduler.Default); // finished first: the assertion below says so
        var work = Task.WhenAll(workers, FaultsAsync());
        try
        {
            await work.WaitAsync(TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"The workers did not finish within 120 s: {Volatile.Read(ref done)} of {Workers * PerWorker} SaveChanges acknowledged.");
        }
        await WaitForReplayAsync(dataSource);
        const string Names = "SELECT \"Name\" FROM \"Customers\" ORDER BY \"Name\"";
        var expected = acknowledged.Order(StringComparer.Ordinal).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(stateWhileDown, Is.Not.EqualTo(HelixStrandState.Healthy), "the workers met the server down");
            Assert.That(expected, Has.Count.EqualTo(Workers * PerWorker));
            Assert.That((await RowsAsync(HelixStrand.Primary, Names)).Order(StringComparer.Ordinal), Is.EqualTo(expected), "primary: every acknowledged row, once");
            Assert.That((await RowsAsync(HelixStrand.Secondary, Names)).Order(StringComparer.Ordinal), Is.EqualTo(expected), "secondary: every acknowledged row, once");
        });
    }
}
