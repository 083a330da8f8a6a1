using System.Transactions;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Tests.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary>
/// A <see cref="TransactionScope"/> around EF Core contexts through <c>UseHelix</c>, on the two real PostgreSQL servers: the
/// context's Helix connection takes the scope's part (EF's connection object stays out of it), so the scope's
/// <c>SaveChanges</c> and Dapper's writes commit on both servers or on neither. Before, EF enlisted its own connection
/// object (one strand's) beside Helix's, the commit was a two-phase one and aborted; so Helix refused contexts in a scope.
/// </summary>
[TestFixture(SyncOrAsync.Sync)]
[TestFixture(SyncOrAsync.Async)]
public class EfCorePostgresAmbientTests(SyncOrAsync mode) : PostgresTestBase
{
    private const string Names = "SELECT \"Name\" FROM \"Customers\" ORDER BY \"Name\"";

    private bool IsAsync => mode == SyncOrAsync.Async;

    private HelixDataSource _dataSource = null!;

    [SetUp]
    public async Task CreateSchemaAsync()
    {
        _dataSource = new HelixDataSourceBuilder(HelixConnectionString("Strand Retry=0", inner: ";Timeout=2;Command Timeout=2"))
            .ConfigureReplay(o => o.BackoffMax = TimeSpan.FromMilliseconds(300))
            .Build();
        await using var context = Shop();
        await context.Database.EnsureCreatedAsync();
    }

    [TearDown]
    public ValueTask DisposeDataSourceAsync() => _dataSource.DisposeAsync();

    private ShopContext Shop() => new(new DbContextOptionsBuilder<ShopContext>().UseHelix(_dataSource, (b, primary) => b.UseNpgsql(primary)).Options);

    private static TransactionScope Scope() => new(TransactionScopeOption.Required, TransactionScopeAsyncFlowOption.Enabled);

    private async Task AddAsync(string name)
    {
        await using var context = Shop();
        context.Customers.Add(new Customer { Name = name });
        await SaveAsync(context);
    }

    private async Task SaveAsync(ShopContext context)
    {
        if (IsAsync)
        {
            await context.SaveChangesAsync();
        }
        else
        {
            context.SaveChanges();
        }
    }

    private async Task<List<string>> BothAsync() => [.. await RowsAsync(HelixStrand.Primary, Names), "|", .. await RowsAsync(HelixStrand.Secondary, Names)];

    private void AssertHealthyWithNothingQueued() =>
        Assert.That(_dataSource.GetStatus().Strands.Select(s => (s.State, s.Backlog)), Is.All.EqualTo((HelixStrandState.Healthy, 0L)), "no strand failed, nothing queued");

    [Test]
    public async Task A_scope_that_completes_commits_its_contexts_and_Dappers_writes_on_both_servers()
    {
        using (var scope = Scope())
        {
            await AddAsync("first context");
            await using (var context = Shop())
            {
                context.Customers.Add(new Customer { Name = "second context" });
                await SaveAsync(context);
                var names = IsAsync ? await context.Customers.Select(c => c.Name).ToListAsync() : [.. context.Customers.Select(c => c.Name)];
                Assert.That(names, Is.EquivalentTo(new[] { "first context", "second context" }), "the scope's uncommitted rows, read in it");
            }

            await using (var connection = IsAsync ? await _dataSource.OpenConnectionAsync() : _dataSource.OpenConnection())
            {
                await connection.ExecuteAsync("INSERT INTO \"Customers\" (\"Id\", \"Name\") VALUES (@id, 'by Dapper')", new { id = Guid.NewGuid() });
            }

            using (new TransactionScope(TransactionScopeOption.Suppress, TransactionScopeAsyncFlowOption.Enabled)) // the test's own Npgsql connection would enlist
            {
                Assert.That(await RowsAsync(HelixStrand.Secondary, Names), Is.Empty, "nothing committed before the scope completes");
            }

            scope.Complete();
        }

        Assert.That(await BothAsync(), Is.EqualTo(new[] { "by Dapper", "first context", "second context", "|", "by Dapper", "first context", "second context" }));
        AssertHealthyWithNothingQueued();
    }

    [Test]
    public async Task A_scope_that_does_not_complete_leaves_nothing_on_either_server_and_the_next_context_works()
    {
        using (Scope())
        {
            await AddAsync("rolled back");
            await AddAsync("rolled back too");
        }

        await AddAsync("after the scope");
        Assert.That(await BothAsync(), Is.EqualTo(new[] { "after the scope", "|", "after the scope" }));
        AssertHealthyWithNothingQueued();
    }

    [Test]
    public async Task A_context_whose_connection_was_open_before_the_scope_enlists_in_it_as_EF_enlists_on_its_next_open()
    {
        await using var context = Shop();
        if (IsAsync)
        {
            await context.Database.OpenConnectionAsync();
        }
        else
        {
            context.Database.OpenConnection();
        }

        Assert.That(await context.Customers.CountAsync(), Is.Zero, "a query on the open connection, before the scope");
        using (Scope())
        {
            context.Customers.Add(new Customer { Name = "in the scope" });
            await SaveAsync(context);
        }

        context.ChangeTracker.Clear();
        context.Customers.Add(new Customer { Name = "after the scope" });
        await SaveAsync(context);
        Assert.That(await BothAsync(), Is.EqualTo(new[] { "after the scope", "|", "after the scope" }), "the scope's write rolled back on both, the next one committed on both");
        AssertHealthyWithNothingQueued();
    }

    [Test]
    public async Task A_second_context_opening_while_the_first_holds_its_connection_open_in_a_scope_is_refused_and_the_first_goes_on()
    {
        using (var scope = Scope())
        {
            await using var first = Shop();
            if (IsAsync)
            {
                await first.Database.OpenConnectionAsync();
            }
            else
            {
                first.Database.OpenConnection();
            }

            first.Customers.Add(new Customer { Name = "first" });
            await SaveAsync(first);
            await using (var second = Shop())
            {
                second.Customers.Add(new Customer { Name = "second" });
                var refused = Assert.CatchAsync<NotSupportedException>(() => SaveAsync(second));
                Assert.That(refused!.Message, Does.Contain("Another connection").And.Contain("TransactionScope"));
            }

            first.Customers.Add(new Customer { Name = "first again" });
            await SaveAsync(first);
            scope.Complete();
        }

        Assert.That(await BothAsync(), Is.EqualTo(new[] { "first", "first again", "|", "first", "first again" }));
        AssertHealthyWithNothingQueued();
    }

    [Test]
    public async Task Pooled_contexts_in_a_scope_share_its_transaction_and_come_back_from_the_pool_outside_it()
    {
        var factory = new PooledDbContextFactory<ShopContext>(new DbContextOptionsBuilder<ShopContext>().UseHelix(_dataSource, (b, primary) => b.UseNpgsql(primary)).Options);
        async Task AddPooledAsync(string name)
        {
            await using var context = IsAsync ? await factory.CreateDbContextAsync() : factory.CreateDbContext();
            context.Customers.Add(new Customer { Name = name });
            await SaveAsync(context);
        }

        using (Scope())
        {
            await AddPooledAsync("rolled back");
        }

        using (var scope = Scope())
        {
            await AddPooledAsync("one");
            await AddPooledAsync("two"); // the same context again, from the pool
            scope.Complete();
        }

        await AddPooledAsync("after the scopes");
        Assert.That(await BothAsync(), Is.EqualTo(new[] { "after the scopes", "one", "two", "|", "after the scopes", "one", "two" }));
        AssertHealthyWithNothingQueued();
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Database_EnlistTransaction_puts_an_open_context_in_a_transaction_that_commits_or_rolls_back_on_both_servers(bool commit)
    {
        using var transaction = new CommittableTransaction();
        await using (var context = Shop())
        {
            if (IsAsync)
            {
                await context.Database.OpenConnectionAsync();
            }
            else
            {
                context.Database.OpenConnection();
            }

            context.Database.EnlistTransaction(transaction);
            Assert.That(context.Database.GetEnlistedTransaction(), Is.SameAs(transaction));
            context.Customers.Add(new Customer { Name = "enlisted" });
            await SaveAsync(context);
            if (commit)
            {
                transaction.Commit();
            }
            else
            {
                transaction.Rollback();
            }
        }

        string[] expected = commit ? ["enlisted", "|", "enlisted"] : ["|"];
        Assert.That(await BothAsync(), Is.EqualTo(expected));
        AssertHealthyWithNothingQueued();
    }

    [Test]
    public async Task BeginTransaction_in_a_scope_is_refused_as_plain_EF_refuses_it()
    {
        using (Scope())
        {
            await using var context = Shop();
            Assert.That(() => context.Database.BeginTransaction(), Throws.InvalidOperationException.With.Message.Contains("ambient transaction"));
        }
    }

    [Test]
    public async Task A_SaveChanges_that_fails_in_a_scope_rolls_back_the_scopes_earlier_writes_on_both_servers()
    {
        var taken = Guid.NewGuid();
        await using (var context = Shop())
        {
            context.Customers.Add(new Customer { Id = taken, Name = "existing" });
            await SaveAsync(context);
        }

        using (Scope())
        {
            await AddAsync("earlier in the scope");
            await using var context = Shop();
            context.Customers.Add(new Customer { Id = taken, Name = "duplicate key" });
            var error = Assert.CatchAsync<DbUpdateException>(() => SaveAsync(context));
            Assert.That(error!.InnerException, Is.InstanceOf<Npgsql.PostgresException>().With.Property("SqlState").EqualTo("23505"));
        }

        Assert.That(await BothAsync(), Is.EqualTo(new[] { "existing", "|", "existing" }));
        AssertHealthyWithNothingQueued();
    }

    [Test]
    public async Task A_scope_that_completes_while_the_secondary_is_down_commits_on_the_primary_and_is_replayed_to_the_secondary()
    {
        PostgresServers.RequireFaultControl();
        await PostgresServers.Secondary.KillAsync();
        using (var scope = Scope())
        {
            await AddAsync("one");
            await AddAsync("two");
            scope.Complete();
        }

        Assert.That(await RowsAsync(HelixStrand.Primary, Names), Is.EqualTo(new[] { "one", "two" }));
        await PostgresServers.Secondary.StartAsync();
        await WaitForReplayAsync(_dataSource);
        Assert.That(await BothAsync(), Is.EqualTo(new[] { "one", "two", "|", "one", "two" }));
    }
}
