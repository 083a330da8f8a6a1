using Helix.Data.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.Tests.EntityFrameworkCore;

/// <summary>EF's transaction events, through <c>UseHelix</c>, as plain EF Core raises them.</summary>
public class EfCoreTransactionEventTests
{
    [TestCase(true)]
    [TestCase(false)]
    public async Task A_context_raises_the_transaction_events_plain_EF_Core_raises(bool async)
    {
        using var files = new SqliteStrands("ef-tx-events");
        var plain = new List<string>();
        await using (var context = new ShopContext(Recording(new DbContextOptionsBuilder<ShopContext>().UseSqlite($"Data Source={files.Folder}/plain.db"), plain).Options))
        {
            await UseTransactionsAsync(context, plain, async, asPlainEf: true);
        }

        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        var routed = new List<string>();
        await using (var context = new ShopContext(Recording(new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)), routed).Options))
        {
            await UseTransactionsAsync(context, routed, async, asPlainEf: false);
        }

        Assert.That(plain, Does.Contain("TransactionCommitted").And.Contain("RolledBackToTransactionSavepoint").And.Contain("TransactionDisposed"), "the recording sees EF's events");
        Assert.That(routed, Is.EqualTo(plain));
    }

    [Test]
    public async Task A_one_row_save_outside_a_transaction_runs_in_one_unless_SaveChangesInTransaction_is_off([Values] bool inTransaction)
    {
        using var files = new SqliteStrands("ef-save-in-tx");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        var events = new List<string>();
        var options = Recording(new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary), o => o.SaveChangesInTransaction = inTransaction), events).Options;
        await using var context = new ShopContext(options);
        await context.Database.EnsureCreatedAsync();
        events.Clear();
        context.Customers.Add(new Customer { Name = "one" });
        await context.SaveChangesAsync();

        Assert.Multiple(() =>
        {
            Assert.That(events.Contains("TransactionStarted"), Is.EqualTo(inTransaction));
            Assert.That(context.Database.AutoTransactionBehavior, Is.EqualTo(AutoTransactionBehavior.WhenNeeded), "given back after the save");
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT Name FROM Customers"), Is.EqualTo(new[] { "one" }));
        });
    }

    [Test]
    public async Task A_commit_an_interceptor_suppresses_is_not_made_on_the_strands()
    {
        using var files = new SqliteStrands("ef-tx-suppressed");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        var suppress = new SuppressCommit();
        var options = new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).AddInterceptors(suppress).Options;
        await using (var context = new ShopContext(options))
        {
            await context.Database.EnsureCreatedAsync();
            suppress.Armed = true;
            await using var transaction = await context.Database.BeginTransactionAsync();
            context.Customers.Add(new Customer { Name = "never committed" });
            await context.SaveChangesAsync();
            await transaction.CommitAsync();
        }

        const string Names = "SELECT Name FROM Customers";
        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, Names), Is.Empty);
            Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.Empty);
        });
    }

    /// <summary>A user transaction with a savepoint rolled back to and one released, committed; one rolled back; and SaveChanges in EF's own transaction.</summary>
    private static async Task UseTransactionsAsync(ShopContext context, List<string> events, bool async, bool asPlainEf)
    {
        await context.Database.EnsureCreatedAsync();
        events.Clear();
        await using (var transaction = async ? await context.Database.BeginTransactionAsync() : context.Database.BeginTransaction())
        {
            context.Customers.Add(new Customer { Name = "kept" });
            await SaveAsync(context, async);
            if (async)
            {
                await transaction.CreateSavepointAsync("before_undone");
            }
            else
            {
                transaction.CreateSavepoint("before_undone");
            }

            context.Customers.Add(new Customer { Name = "undone" });
            await SaveAsync(context, async);
            await (async ? transaction.RollbackToSavepointAsync("before_undone") : Run(() => transaction.RollbackToSavepoint("before_undone")));
            await (async ? transaction.ReleaseSavepointAsync("before_undone") : Run(() => transaction.ReleaseSavepoint("before_undone")));
            await (async ? transaction.CommitAsync() : Run(transaction.Commit));
        }

        context.ChangeTracker.Clear();
        await using (var transaction = async ? await context.Database.BeginTransactionAsync() : context.Database.BeginTransaction())
        {
            context.Customers.Add(new Customer { Name = "rolled back" });
            await SaveAsync(context, async);
            await (async ? transaction.RollbackAsync() : Run(transaction.Rollback));
        }

        context.ChangeTracker.Clear();
        context.Customers.Add(new Customer { Name = "alone" });
        if (asPlainEf)
        {
            // Through Helix a save outside a transaction runs in one (contract amendment 39): plain EF does so with Always.
            context.Database.AutoTransactionBehavior = AutoTransactionBehavior.Always;
        }

        await SaveAsync(context, async);
    }

    private static Task Run(Action action)
    {
        action();
        return Task.CompletedTask;
    }

    private static Task SaveAsync(DbContext context, bool async) => async ? context.SaveChangesAsync() : Run(() => context.SaveChanges());

    private static DbContextOptionsBuilder<ShopContext> Recording(DbContextOptionsBuilder<ShopContext> builder, List<string> events) =>
        builder.LogTo(
            (id, _) => id.Name?.StartsWith(DbLoggerCategory.Database.Transaction.Name, StringComparison.Ordinal) == true,
            data => events.Add(data.EventId.Name![(DbLoggerCategory.Database.Transaction.Name.Length + 1)..]));

    private sealed class SuppressCommit : DbTransactionInterceptor
    {
        public bool Armed { get; set; }

        public override ValueTask<InterceptionResult> TransactionCommittingAsync(System.Data.Common.DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default) =>
            new(Armed ? InterceptionResult.Suppress() : result);
    }
}
