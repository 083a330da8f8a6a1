using System.Data;
using System.ComponentModel.DataAnnotations;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Tests.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary>The Npgsql EF Core provider through <c>UseHelix</c> on the two real PostgreSQL servers.</summary>
public class EfCorePostgresTests : PostgresTestBase
{
    private const string LinesDump = "SELECT l.\"Id\", l.\"OrderId\", l.\"Product\", l.\"Quantity\", o.\"Total\", c.\"Name\" FROM \"Lines\" l JOIN \"Orders\" o ON o.\"Id\" = l.\"OrderId\" JOIN \"Customers\" c ON c.\"Id\" = o.\"CustomerId\" ORDER BY l.\"Product\"";

    [Test]
    public async Task Queries_of_every_kind_read_and_every_kind_of_write_lands_on_both_servers()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using (var context = Shop(dataSource))
        {
            Assert.That(await context.Database.EnsureCreatedAsync(), Is.True);
            context.Customers.Add(ShopData.Alice());
            Assert.That(await context.SaveChangesAsync(), Is.EqualTo(5));
        }

        await using (var context = Shop(dataSource))
        {
            var order = await context.Orders.Include(o => o.Lines).AsSplitQuery().SingleAsync();
            Assert.That(order.Lines, Has.Count.EqualTo(3), "a split query");
            order.Total = 12.5m;
            context.Lines.Remove(order.Lines.Single(l => l.Product == "ink"));
            await context.SaveChangesAsync();

            var streamed = new List<string>();
            await foreach (var line in context.Lines.AsNoTracking().OrderBy(l => l.Product).AsAsyncEnumerable())
            {
                streamed.Add(line.Product);
            }

            Assert.That(streamed, Is.EqualTo(new[] { "paper", "pen" }), "streamed");
            Assert.That(await context.Lines.FromSql($"SELECT * FROM \"Lines\" WHERE \"Quantity\" > {1}").Select(l => l.Product).ToListAsync(), Is.EqualTo(new[] { "pen" }));
            Assert.That(await context.Database.SqlQuery<int>($"SELECT \"Quantity\" AS \"Value\" FROM \"Lines\" WHERE \"Product\" = {"pen"}").SingleAsync(), Is.EqualTo(2));
            Assert.That(await context.Lines.Where(l => l.Product == "pen").ExecuteUpdateAsync(s => s.SetProperty(l => l.Quantity, 9)), Is.EqualTo(1));
            Assert.That(await context.Lines.Where(l => l.Product == "paper").ExecuteDeleteAsync(), Is.EqualTo(1));
            Assert.That(await context.Database.ExecuteSqlAsync($"UPDATE \"Customers\" SET \"Name\" = {"Alice B."}"), Is.EqualTo(1));
        }

        var primary = await RowsAsync(HelixStrand.Primary, LinesDump);
        Assert.Multiple(async () =>
        {
            Assert.That(primary, Has.Count.EqualTo(1).And.Some.Contains("pen").And.Some.Contains("Alice B.").And.Some.Contains("12.5"));
            Assert.That(await RowsAsync(HelixStrand.Secondary, LinesDump), Is.EqualTo(primary));
        });
    }

    [Test]
    public async Task A_killed_primary_leaves_EF_working_on_the_secondary_and_gets_the_SaveChanges_by_replay()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: ";Timeout=2;Command Timeout=2"));
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
        }

        await PostgresServers.Primary.KillAsync();
        await using (var context = Shop(dataSource))
        {
            context.Customers.Add(ShopData.Alice());
            await context.SaveChangesAsync();
        }

        await using (var context = Shop(dataSource))
        {
            Assert.That(await context.Lines.CountAsync(), Is.EqualTo(3), "a new context, its connection opened while the primary is down");
        }

        Assert.That(dataSource.GetStatus()[HelixStrand.Primary].State, Is.Not.EqualTo(HelixStrandState.Healthy));
        await PostgresServers.Primary.StartAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await dataSource.WaitForReplayAsync(timeout.Token);
        }

        Assert.That(await RowsAsync(HelixStrand.Primary, LinesDump), Is.EqualTo(await RowsAsync(HelixStrand.Secondary, LinesDump)).And.Count.EqualTo(3));
    }

    [Test]
    public async Task A_primary_killed_in_the_middle_of_a_transaction_gets_the_whole_transaction_by_replay()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: ";Timeout=2;Command Timeout=2"));
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
        }

        await using (var context = Shop(dataSource))
        {
            await using var transaction = await context.Database.BeginTransactionAsync();
            context.Customers.Add(new Customer { Name = "before the kill" });
            await context.SaveChangesAsync(); // on both strands, in their transactions
            await PostgresServers.Primary.KillAsync();
            context.Customers.Add(ShopData.Alice());
            await context.SaveChangesAsync(); // the primary fails here and leaves the transaction
            await transaction.CommitAsync(); // committed on the secondary; the primary gets it all by replay
        }

        const string Names = "SELECT \"Name\" FROM \"Customers\" ORDER BY \"Name\"";
        Assert.That(await RowsAsync(HelixStrand.Secondary, Names), Is.EqualTo(new[] { "Alice", "before the kill" }));
        await PostgresServers.Primary.StartAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await dataSource.WaitForReplayAsync(timeout.Token);
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, Names), Is.EqualTo(new[] { "Alice", "before the kill" }), "the whole transaction, the statements it ran before the kill included, exactly once");
            Assert.That(await RowsAsync(HelixStrand.Primary, LinesDump), Is.EqualTo(await RowsAsync(HelixStrand.Secondary, LinesDump)).And.Count.EqualTo(3));
        });
    }

    [Test]
    public async Task A_primary_killed_in_the_middle_of_one_SaveChanges_gets_that_SaveChanges_by_replay_as_one_transaction()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: ";Timeout=2;Command Timeout=2"));
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
        }

        // One command per row (MaxBatchSize 1): the customer and the order are in both strands' transactions when the
        // primary dies before the first line, in the middle of the SaveChanges.
        var kill = new KillBeforeCommand("INSERT INTO \"Lines\"", PostgresServers.Primary);
        var options = new DbContextOptionsBuilder<ShopContext>().AddInterceptors(kill).UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary, npgsql => npgsql.MaxBatchSize(1))).Options;
        await using (var context = new ShopContext(options))
        {
            context.Customers.Add(ShopData.Alice());
            Assert.That(await context.SaveChangesAsync(), Is.EqualTo(5), "the caller sees the SaveChanges succeed");
        }

        Assert.That(kill.Killed, Is.True, "the SaveChanges never wrote a line");
        Assert.That(await RowsAsync(HelixStrand.Secondary, LinesDump), Has.Count.EqualTo(3));
        await PostgresServers.Primary.StartAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await dataSource.WaitForReplayAsync(timeout.Token);
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, LinesDump), Is.EqualTo(await RowsAsync(HelixStrand.Secondary, LinesDump)), "the whole SaveChanges, the rows written before the kill included, exactly once");
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT count(*) FROM \"Customers\""), Is.EqualTo(new[] { "1" }));
        });
    }

    [Test]
    public async Task Dapper_on_the_context_Helix_connection_runs_in_its_transaction_on_both_servers()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            await using var transaction = await context.Database.BeginTransactionAsync();
            var connection = await context.Database.GetHelixConnectionAsync();
            await connection.ExecuteAsync("INSERT INTO \"Customers\" (\"Id\", \"Name\") VALUES (@Id, @Name)", new { Id = Guid.NewGuid(), Name = "by Dapper" }, transaction.GetHelixTransaction());
            context.Customers.Add(new Customer { Name = "by EF" });
            await context.SaveChangesAsync();
            await transaction.CommitAsync();
        }

        const string Names = "SELECT \"Name\" FROM \"Customers\" ORDER BY \"Name\"";
        Assert.That(await RowsAsync(HelixStrand.Secondary, Names), Is.EqualTo(await RowsAsync(HelixStrand.Primary, Names)).And.EqualTo(new[] { "by Dapper", "by EF" }));
    }

    [Test]
    public async Task UseTransaction_with_a_Helix_transaction_Dapper_began_on_the_context_connection_commits_on_both_servers()
    {
        // Npgsql: Dapper's writes begin the Helix transaction on EF's own connection object (the strand it borrows), so
        // EF's transaction is that native one there; queries and SaveChanges run in it on both servers.
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            var connection = await context.Database.GetHelixConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync("INSERT INTO \"Customers\" (\"Id\", \"Name\") VALUES (@Id, @Name)", new { Id = Guid.NewGuid(), Name = "by Dapper" }, transaction);
            await context.Database.UseTransactionAsync(transaction);
            Assert.That(await context.Customers.CountAsync(), Is.EqualTo(1), "the query runs in the transaction");
            context.Customers.Add(new Customer { Name = "by EF" });
            await context.SaveChangesAsync();
            await transaction.CommitAsync();
            await context.Database.UseTransactionAsync(null);
            context.Customers.Add(new Customer { Name = "after" });
            await context.SaveChangesAsync();
        }

        const string Names = "SELECT \"Name\" FROM \"Customers\" ORDER BY \"Name\"";
        Assert.That(await RowsAsync(HelixStrand.Secondary, Names), Is.EqualTo(await RowsAsync(HelixStrand.Primary, Names)).And.EqualTo(new[] { "after", "by Dapper", "by EF" }));
    }

    [Test]
    public async Task EnableRetryOnFailure_works_as_with_plain_EF_also_while_the_primary_is_down()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: ";Timeout=2;Command Timeout=2"));
        var options = new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary, npgsql => npgsql.EnableRetryOnFailure(3))).Options;
        await using (var context = new ShopContext(options))
        {
            await context.Database.EnsureCreatedAsync();
        }

        await PostgresServers.Primary.KillAsync();
        await using (var context = new ShopContext(options))
        {
            // A user transaction under a retrying strategy goes through the strategy, as plain EF requires.
            await context.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
            {
                await using var transaction = await context.Database.BeginTransactionAsync();
                context.Customers.Add(ShopData.Alice());
                await context.SaveChangesAsync();
                await transaction.CommitAsync();
            });
            Assert.That(await context.Lines.CountAsync(), Is.EqualTo(3));
        }

        await PostgresServers.Primary.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await dataSource.WaitForReplayAsync(timeout.Token);
        Assert.That(await RowsAsync(HelixStrand.Primary, LinesDump), Is.EqualTo(await RowsAsync(HelixStrand.Secondary, LinesDump)).And.Count.EqualTo(3));
    }

    [Test]
    public async Task A_concurrency_token_raises_DbUpdateConcurrencyException_as_plain_EF_does_and_never_a_false_one()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        var id = Guid.NewGuid();
        await using (var context = Accounts(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            context.Accounts.Add(new Account { Id = id, Balance = 100, Version = Guid.NewGuid() });
            await context.SaveChangesAsync();
        }

        await using var first = Accounts(dataSource);
        await using var second = Accounts(dataSource);
        var mine = await first.Accounts.SingleAsync();
        var theirs = await second.Accounts.SingleAsync();
        (mine.Balance, mine.Version) = (150, Guid.NewGuid());
        Assert.That(await first.SaveChangesAsync(), Is.EqualTo(1), "no false conflict from the second strand");
        (theirs.Balance, theirs.Version) = (50, Guid.NewGuid());
        Assert.That(async () => await second.SaveChangesAsync(), Throws.InstanceOf<DbUpdateConcurrencyException>());

        const string Balances = "SELECT \"Balance\" FROM \"Accounts\"";
        Assert.That(await RowsAsync(HelixStrand.Secondary, Balances), Is.EqualTo(await RowsAsync(HelixStrand.Primary, Balances)).And.EqualTo(new[] { "150" }));
    }

    [Test]
    public async Task A_context_reads_on_its_own_connection_and_begins_its_transactions_beside_it()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using (var setup = Shop(dataSource))
        {
            await setup.Database.EnsureCreatedAsync();
        }

        await using var context = Shop(dataSource);
        await context.Database.OpenConnectionAsync();
        var own = ((Npgsql.NpgsqlConnection)context.Database.GetDbConnection()).ProcessID;
        Assert.That(await BackendAsync(context), Is.EqualTo(own), "a query runs on EF's connection to the primary: one physical connection per context, not two");

        await using (var transaction = await context.Database.BeginTransactionAsync())
        {
            Assert.That(await BackendAsync(context), Is.Not.EqualTo(own), "in a transaction, the strand's statements run on a connection of Helix's: EF's holds its native transaction");
            context.Customers.Add(new Customer { Name = "Bea" });
            await context.SaveChangesAsync();
            await transaction.CommitAsync();
        }

        Assert.That(await context.Customers.CountAsync(c => c.Name == "Bea"), Is.EqualTo(1));
        await context.Database.CloseConnectionAsync();
        await context.Database.OpenConnectionAsync();
        Assert.That(await BackendAsync(context), Is.EqualTo(((Npgsql.NpgsqlConnection)context.Database.GetDbConnection()).ProcessID), "opened again, it reads on EF's connection again");
        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT \"Name\" FROM \"Customers\""), Is.EqualTo(new[] { "Bea" }));
    }

    [Test]
    public async Task A_context_on_a_data_source_that_hedges_reads_keeps_its_own_connection_out_of_the_race()
    {
        await using (var plain = HelixDataSource.Create(HelixConnectionString()))
        await using (var setup = Shop(plain))
        {
            await setup.Database.EnsureCreatedAsync();
        }

        // A long delay: no hedge starts, so the only difference from the test above is that the data source could hedge.
        await using (var hedging = HelixDataSource.Create(HelixConnectionString("Hedge After=60000")))
        await using (var context = Shop(hedging))
        {
            await context.Database.OpenConnectionAsync();
            var own = ((Npgsql.NpgsqlConnection)context.Database.GetDbConnection()).ProcessID;
            Assert.That(await BackendAsync(context), Is.Not.EqualTo(own), "a losing hedged attempt keeps running until its cancellation lands: it must never be on the connection EF goes on using");
        }

        // Hedges that start and lose, then a transaction on EF's connection and more reads: nothing runs into a loser.
        await using var racing = HelixDataSource.Create(HelixConnectionString("Hedge After=1"));
        await using var racer = Shop(racing);
        await racer.Database.OpenConnectionAsync();
        for (var i = 0; i < 20; i++)
        {
            Assert.That(await racer.Customers.CountAsync(), Is.EqualTo(i));
            await using var transaction = await racer.Database.BeginTransactionAsync();
            racer.Customers.Add(new Customer { Name = $"c{i}" });
            await racer.SaveChangesAsync();
            await transaction.CommitAsync();
        }

        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT count(*)::text FROM \"Customers\""), Is.EqualTo(new[] { "20" }));
    }

    private static Task<int> BackendAsync(ShopContext context) => context.Database.SqlQuery<int>($"SELECT pg_backend_pid() AS \"Value\"").SingleAsync();

    [Test]
    public async Task TransactionStarted_reports_the_isolation_level_asked_for_as_plain_EF_Core_does()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        var routed = await StartedLevelsAsync(new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)));
        var plain = await StartedLevelsAsync(new DbContextOptionsBuilder<ShopContext>().UseNpgsql(PostgresServers.Primary.ConnectionString(Database)));
        Assert.That(plain, Is.EqualTo(new[] { "RepeatableRead", "RepeatableRead", "Serializable", "ReadCommitted", "ReadCommitted" }), "what plain EF Core reports");
        Assert.That(routed, Is.EqualTo(plain), "before, Helix's native transaction reported ReadUncommitted for each");
    }

    /// <summary>The isolation level EF reports at each <c>TransactionStarted</c>: four user transactions on one open connection, then SaveChanges' own.</summary>
    private static async Task<List<string>> StartedLevelsAsync(DbContextOptionsBuilder<ShopContext> builder)
    {
        var levels = new List<string>();
        builder.LogTo((id, _) => id == RelationalEventId.TransactionStarted, data => levels.Add(((TransactionEndEventData)data).Transaction.IsolationLevel.ToString()));
        await using var context = new ShopContext(builder.Options);
        await context.Database.EnsureCreatedAsync();
        levels.Clear(); // the schema's own transaction, where EnsureCreated made it
        await context.Database.OpenConnectionAsync();
        foreach (var level in new[] { IsolationLevel.RepeatableRead, IsolationLevel.RepeatableRead, IsolationLevel.Serializable, IsolationLevel.ReadCommitted })
        {
            await using var transaction = await context.Database.BeginTransactionAsync(level);
            context.Customers.Add(new Customer { Name = level.ToString() });
            await context.SaveChangesAsync();
            await transaction.CommitAsync();
        }

        context.Customers.AddRange(new Customer { Name = "one" }, new Customer { Name = "two" }); // SaveChanges' own transaction
        await context.SaveChangesAsync();
        return levels;
    }

    /// <summary>
    /// Contract amendment 39: contexts saving one entity at once, as a web application's requests do. EF runs a one-row
    /// <c>SaveChanges</c> without a transaction; through Helix its <c>UPDATE</c> then ran on both servers at once, and
    /// the servers could order the racing updates differently (measured: 2 of 20 rounds apart, nothing reported). Helix
    /// runs every <c>SaveChanges</c> in a transaction, whose statement holds the row on the primary until it ran on the
    /// secondary: the same order on both.
    /// </summary>
    [Test]
    public async Task SaveChanges_racing_on_one_entity_leave_both_servers_with_the_same_value()
    {
        const int rounds = 20, workers = 4, saves = 5;
        await using var dataSource = HelixDataSource.Create(HelixConnectionString(inner: ";Command Timeout=10"));
        Guid id;
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            var alice = ShopData.Alice();
            context.Customers.Add(alice);
            await context.SaveChangesAsync();
            id = alice.Id;
        }

        var apart = await RoundsApartAsync("SELECT \"Name\" FROM \"Customers\"", rounds, workers, saves, async (round, worker, i) =>
        {
            await using var context = Shop(dataSource);
            var customer = await context.Customers.SingleAsync(c => c.Id == id);
            customer.Name = $"round {round} worker {worker} save {i}";
            await context.SaveChangesAsync();
        });

        Assert.Multiple(() =>
        {
            Assert.That(apart, Is.Empty, "the servers hold the same name after every round");
            Assert.That(dataSource.GetStatus().Divergences, Is.Zero);
        });
    }

    /// <summary>
    /// Contract amendment 38: <c>SaveChanges</c> inside a loop over a streaming query, whose reader is still open. Npgsql
    /// refuses a command beside it; through Helix the reader's strand refuses it first and the other never applies it
    /// (before: <c>SaveChanges</c> succeeded, the other server alone took it, and the write was dead-lettered). Since
    /// amendment 39 the save's transaction is refused first, by Npgsql's connection that the reader holds.
    /// </summary>
    [TestCase("Primary")]
    [TestCase("Secondary")]
    public async Task SaveChanges_while_a_streaming_query_is_open_is_refused_as_Npgsql_refuses_it_and_saved_on_neither_server(string preferred)
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString($"Preferred Strand={preferred}"));
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            context.Customers.Add(ShopData.Alice());
            await context.SaveChangesAsync();
        }

        Exception? refused = null;
        await using (var context = Shop(dataSource))
        {
            try
            {
                await foreach (var line in context.Lines.OrderBy(l => l.Product).AsAsyncEnumerable())
                {
                    line.Quantity += 10;
                    await context.SaveChangesAsync();
                }
            }
            catch (Exception e)
            {
                refused = e;
            }
        }

        var primary = await RowsAsync(HelixStrand.Primary, LinesDump);
        Assert.Multiple(async () =>
        {
            // SaveChanges runs in a transaction through Helix (amendment 39), whose begin Npgsql refuses beside the reader,
            // as plain EF Core with AutoTransactionBehavior.Always gets it
            Assert.That(refused, Is.InstanceOf<InvalidOperationException>().With.Message.Contains("busy"));
            Assert.That(primary, Has.Count.EqualTo(3).And.Some.Contains("|pen|2|").And.Some.Contains("|ink|1|"), "no quantity changed");
            Assert.That(await RowsAsync(HelixStrand.Secondary, LinesDump), Is.EqualTo(primary));
            Assert.That(dataSource.GetStatus().Divergences, Is.Zero);
        });
    }

    private static ShopContext Shop(HelixDataSource dataSource) =>
        new(new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options);

    private static AccountContext Accounts(HelixDataSource dataSource) =>
        new(new DbContextOptionsBuilder<AccountContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options);

    private sealed class Account
    {
        public Guid Id { get; set; }

        public decimal Balance { get; set; }

        [ConcurrencyCheck]
        public Guid Version { get; set; }
    }

    private sealed class AccountContext(DbContextOptions options) : DbContext(options)
    {
        public DbSet<Account> Accounts => Set<Account>();
    }
}
