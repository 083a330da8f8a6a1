using Helix.Data.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Helix.Data.Tests.EntityFrameworkCore;

/// <summary>EF Core's SQLite provider on two SQLite files through <c>UseHelix</c>: writes on both, reads on one, failover, replay, transactions.</summary>
public class EfCoreSqliteTests
{
    private const string Tables = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
    private const string LinesDump = "SELECT l.Id, l.OrderId, l.Product, l.Quantity, o.Total, c.Name FROM Lines l JOIN Orders o ON o.Id = l.OrderId JOIN Customers c ON c.Id = o.CustomerId ORDER BY l.Product";

    [Test]
    public async Task An_entity_graph_is_written_to_both_strands_and_read_back_with_include()
    {
        using var files = new SqliteStrands("ef-graph");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            context.Customers.Add(ShopData.Alice());
            Assert.That(await context.SaveChangesAsync(), Is.EqualTo(5), "a customer, an order, three lines");
        }

        await using (var context = Shop(dataSource))
        {
            var order = await context.Orders.Include(o => o.Lines).SingleAsync();
            order.Total = 12.5m;
            order.Lines.Single(l => l.Product == "pen").Quantity = 7;
            context.Lines.Remove(order.Lines.Single(l => l.Product == "ink"));
            await context.SaveChangesAsync();
        }

        await using (var context = Shop(dataSource))
        {
            var customer = await context.Customers.AsNoTracking().Include(c => c.Orders).ThenInclude(o => o.Lines).SingleAsync();
            Assert.That(customer.Orders.Single().Lines.Select(l => (l.Product, l.Quantity)), Is.EquivalentTo(new[] { ("pen", 7), ("paper", 1) }));
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Secondary, Tables), Is.EqualTo(files.Rows(HelixStrand.Primary, Tables)).And.Contains("Orders"), "EnsureCreated made the tables on both strands");
            Assert.That(files.Rows(HelixStrand.Secondary, LinesDump), Is.EqualTo(files.Rows(HelixStrand.Primary, LinesDump)));
            Assert.That(files.Rows(HelixStrand.Primary, LinesDump), Has.Count.EqualTo(2));
        });
    }

    private static readonly Func<ShopContext, string, IAsyncEnumerable<OrderLine>> LinesOf =
        EF.CompileAsyncQuery((ShopContext context, string product) => context.Lines.Where(l => l.Product == product));

    [Test]
    public async Task A_compiled_query_reads_through_Helix_and_fails_over()
    {
        using var files = new SqliteStrands("ef-compiled");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString("Strand Retry=0"));
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            context.Customers.Add(ShopData.Alice());
            await context.SaveChangesAsync();
        }

        files.Lock(HelixStrand.Primary);
        await using (var context = Shop(dataSource))
        {
            var pens = new List<int>();
            await foreach (var line in LinesOf(context, "pen"))
            {
                pens.Add(line.Quantity);
            }

            Assert.That(pens, Is.EqualTo(new[] { 2 }), "served by the secondary");
        }

        files.Release();
    }

    /// <summary>
    /// EF Core's providers act on their own exceptions only (a retrying execution strategy retries its provider's transient
    /// ones): a query that met strand faults on both strands gives EF the error of the strand reads go to first, not a
    /// HelixException (contract amendment 32).
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public async Task A_query_both_strands_fault_gives_EF_the_provider_s_own_exception(bool synchronously)
    {
        using var files = new SqliteStrands("ef-both-fault");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString("Strand Retry=0"));
        await using var context = Shop(dataSource);
        await context.Database.EnsureCreatedAsync();
        Assert.That(await context.Customers.CountAsync(), Is.Zero);

        // Both files become unreadable (a disk gone bad on both): SQLite's "not a database" once a connection reads them.
        SqliteConnection.ClearAllPools();
        foreach (var path in new[] { files.PrimaryPath, files.SecondaryPath })
        {
            await File.WriteAllBytesAsync(path, Enumerable.Repeat((byte)'x', 4096).ToArray());
        }

        var thrown = synchronously
            ? Assert.Catch<Exception>(() => _ = context.Customers.Count())
            : Assert.CatchAsync<Exception>(() => context.Customers.CountAsync());
        Assert.That(thrown, Is.InstanceOf<SqliteException>().And.Property(nameof(SqliteException.SqliteErrorCode)).EqualTo(26), thrown!.ToString());
    }

    [Test]
    public void The_synchronous_API_writes_and_reads_too()
    {
        using var files = new SqliteStrands("ef-sync");
        using var dataSource = HelixDataSource.Create(files.ConnectionString());
        using (var context = Shop(dataSource))
        {
            context.Database.EnsureCreated();
            context.Customers.Add(ShopData.Alice());
            context.SaveChanges();
        }

        using (var context = Shop(dataSource))
        {
            Assert.That(context.Lines.Count(), Is.EqualTo(3));
            Assert.That(context.Customers.Select(c => c.Name).Single(), Is.EqualTo("Alice"));
        }

        Assert.That(files.Rows(HelixStrand.Secondary, LinesDump), Is.EqualTo(files.Rows(HelixStrand.Primary, LinesDump)));
    }

    [Test]
    public async Task With_the_primary_down_queries_and_SaveChanges_are_served_by_the_secondary_and_the_primary_gets_them_by_replay()
    {
        using var files = new SqliteStrands("ef-down");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString("Strand Retry=0"));
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
        }

        files.Lock(HelixStrand.Primary); // a real outage: every statement on its file is refused (busy)
        await using (var context = Shop(dataSource))
        {
            context.Customers.Add(ShopData.Alice());
            await context.SaveChangesAsync();
            Assert.That(await context.Lines.CountAsync(), Is.EqualTo(3), "the query fails over to the secondary");
        }

        Assert.That(dataSource.GetStatus()[HelixStrand.Primary].State, Is.Not.EqualTo(HelixStrandState.Healthy), "the primary missed the SaveChanges");
        files.Release();
        await Wait.ForReplayAsync(dataSource, TimeSpan.FromSeconds(30));
        Assert.That(files.Rows(HelixStrand.Primary, LinesDump), Is.EqualTo(files.Rows(HelixStrand.Secondary, LinesDump)).And.Count.EqualTo(3), "the whole SaveChanges replayed to the primary");
    }

    [Test]
    public async Task A_user_transaction_commits_or_rolls_back_on_both_strands_and_savepoints_hold()
    {
        using var files = new SqliteStrands("ef-tx");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using var context = Shop(dataSource);
        await context.Database.EnsureCreatedAsync();

        await using (var transaction = await context.Database.BeginTransactionAsync())
        {
            context.Customers.Add(new Customer { Name = "rolled back" });
            await context.SaveChangesAsync();
            await transaction.RollbackAsync();
        }

        context.ChangeTracker.Clear();
        await using (var transaction = await context.Database.BeginTransactionAsync())
        {
            context.Customers.Add(new Customer { Name = "kept" });
            await context.SaveChangesAsync();
            await transaction.CreateSavepointAsync("before_bob");
            context.Customers.Add(new Customer { Name = "undone" });
            await context.SaveChangesAsync();
            await transaction.RollbackToSavepointAsync("before_bob");
            await transaction.CommitAsync();
        }

        await using (var transaction = await context.Database.BeginTransactionAsync())
        {
            context.ChangeTracker.Clear();
            context.Customers.Add(new Customer { Name = "disposed without a commit" });
            await context.SaveChangesAsync();
        }

        const string Names = "SELECT Name FROM Customers ORDER BY Name";
        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, Names), Is.EqualTo(new[] { "kept" }));
            Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.EqualTo(new[] { "kept" }));
        });
    }

    [Test]
    public async Task A_model_with_a_key_each_database_generates_is_refused_with_the_fix_unless_allowed()
    {
        using var files = new SqliteStrands("ef-keys");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using (var refused = new CounterContext(new DbContextOptionsBuilder<CounterContext>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).Options))
        {
            Assert.That(
                async () => await refused.Counters.CountAsync(),
                Throws.InvalidOperationException.With.Message.Contains("Counter.Id").And.Message.Contains("ValueGeneratedNever()").And.Message.Contains("AllowDatabaseGeneratedValues<Counter>()"));
        }

        await using var allowed = new CounterContext(new DbContextOptionsBuilder<CounterContext>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary), o => o.AllowDatabaseGeneratedValues<Counter>()).Options);
        await allowed.Database.EnsureCreatedAsync();
        Assert.That(await allowed.Counters.CountAsync(), Is.Zero);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task SQLite_functions_EF_translates_to_run_on_either_strand_and_in_replay(bool strandsGivenAsDataSources)
    {
        // EF's SQLite provider translates decimal arithmetic, comparison and aggregates and Regex.IsMatch to functions it
        // registers on its own connection object (ef_compare, ef_add, ef_sum, regexp): Helix's strand connections need them
        // too, and so does EF's connection object when it comes from a strand's data source.
        using var files = new SqliteStrands("ef-functions");
        await using var dataSource = strandsGivenAsDataSources
            ? new HelixDataSourceBuilder("Helix;Strand Retry=0")
                .UsePrimary(SqliteFactory.Instance.CreateDataSource(files.Inner(HelixStrand.Primary)))
                .UseSecondary(SqliteFactory.Instance.CreateDataSource(files.Inner(HelixStrand.Secondary)))
                .Build()
            : HelixDataSource.Create(files.ConnectionString("Strand Retry=0"));
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            context.Customers.Add(ShopData.Alice());
            await context.SaveChangesAsync();
            Assert.That(await context.Orders.CountAsync(o => o.Total > 5m), Is.EqualTo(1), "ef_compare on the primary");
            Assert.That(await context.Orders.ExecuteUpdateAsync(s => s.SetProperty(o => o.Total, o => o.Total + 1.5m)), Is.EqualTo(1), "ef_add on both strands");
        }

        files.Lock(HelixStrand.Primary);
        await using (var context = Shop(dataSource))
        {
            Assert.That(await context.Orders.SumAsync(o => o.Total), Is.EqualTo(11.5m), "ef_sum on the secondary");
            Assert.That(await context.Lines.CountAsync(l => System.Text.RegularExpressions.Regex.IsMatch(l.Product, "^p")), Is.EqualTo(2), "regexp on the secondary");
            await context.Orders.ExecuteUpdateAsync(s => s.SetProperty(o => o.Total, o => o.Total * 2m)); // ef_multiply, replayed to the primary
        }

        files.Release();
        await Wait.ForReplayAsync(dataSource, TimeSpan.FromSeconds(30));
        const string Totals = "SELECT Total FROM Orders";
        Assert.That(files.Rows(HelixStrand.Primary, Totals), Is.EqualTo(files.Rows(HelixStrand.Secondary, Totals)).And.EqualTo(new[] { "23.0" }), "the replay worker ran ef_multiply on the primary");
    }

    private static ShopContext Shop(HelixDataSource dataSource) =>
        new(new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).Options);
}
