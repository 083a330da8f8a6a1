using Dapper;
using Helix.Data.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Helix.Data.Tests.EntityFrameworkCore;

/// <summary>Dapper beside a context that uses Helix: on its Helix connection, in its transaction, on both strands; and the native ways that would miss a strand refused.</summary>
public class EfCoreDapperTests
{
    private const string Names = "SELECT Name FROM Customers ORDER BY Name";
    private const string Insert = "INSERT INTO Customers (Id, Name) VALUES (@Id, @Name)";

    [TestCase(true)]
    [TestCase(false)]
    public async Task Dapper_in_the_context_transaction_commits_with_it_on_both_strands(bool async)
    {
        using var files = new SqliteStrands("ef-dapper-tx");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            await using var transaction = await context.Database.BeginTransactionAsync();
            var connection = async ? await context.Database.GetHelixConnectionAsync() : context.Database.GetHelixConnection();
            await connection.ExecuteAsync(Insert, new { Id = Guid.NewGuid(), Name = "by Dapper" }, transaction.GetHelixTransaction());
            context.Customers.Add(new Customer { Name = "by EF" });
            await context.SaveChangesAsync();
            Assert.That(await connection.QuerySingleAsync<int>("SELECT count(*) FROM Customers", transaction: transaction.GetHelixTransaction()), Is.EqualTo(2), "Dapper reads the transaction's own writes");
            await transaction.CommitAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, Names), Is.EqualTo(new[] { "by Dapper", "by EF" }));
            Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.EqualTo(new[] { "by Dapper", "by EF" }));
        });
    }

    [Test]
    public async Task Dapper_in_a_context_transaction_rolled_back_leaves_nothing_on_either_strand()
    {
        using var files = new SqliteStrands("ef-dapper-rollback");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            await using var transaction = await context.Database.BeginTransactionAsync();
            await context.Database.GetHelixConnection().ExecuteAsync(Insert, new { Id = Guid.NewGuid(), Name = "by Dapper" }, transaction.GetHelixTransaction());
            context.Customers.Add(new Customer { Name = "by EF" });
            await context.SaveChangesAsync();
            await transaction.RollbackAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, Names), Is.Empty);
            Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.Empty);
        });
    }

    [Test]
    public async Task Dapper_on_the_Helix_connection_writes_to_both_strands_and_a_missing_strand_gets_it_by_replay()
    {
        using var files = new SqliteStrands("ef-dapper-plain");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString("Strand Retry=0"));
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            var connection = await context.Database.GetHelixConnectionAsync();
            await connection.ExecuteAsync(Insert, new { Id = Guid.NewGuid(), Name = "both" });
            Assert.That(context.Database.GetDbConnection().State, Is.EqualTo(System.Data.ConnectionState.Open), "the context's connection stays open, as after Database.OpenConnection()");

            files.Lock(HelixStrand.Secondary);
            await connection.ExecuteAsync(Insert, new { Id = Guid.NewGuid(), Name = "while the secondary is down" });
            Assert.That(await context.Customers.CountAsync(), Is.EqualTo(2), "EF goes on beside Dapper");
        }

        files.Release();
        await Wait.ForReplayAsync(dataSource, TimeSpan.FromSeconds(30));
        Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.EqualTo(files.Rows(HelixStrand.Primary, Names)).And.Count.EqualTo(2));
    }

    [Test]
    public async Task A_TransactionScope_over_SQLite_strands_is_refused_as_the_context_opens_and_nothing_is_written()
    {
        // Microsoft.Data.Sqlite takes no part in System.Transactions: a scope could not make the two files' writes one.
        using var files = new SqliteStrands("ef-scope");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
        }

        using (new System.Transactions.TransactionScope(System.Transactions.TransactionScopeAsyncFlowOption.Enabled))
        {
            await using var context = Shop(dataSource);
            context.Customers.Add(new Customer { Name = "in a scope" });
            Assert.That(
                async () => await context.SaveChangesAsync(),
                Throws.InstanceOf<NotSupportedException>().With.Message.Contains("SQLite").And.Message.Contains("BeginTransaction"));
        }

        Assert.That(files.Rows(HelixStrand.Primary, Names), Is.Empty);
        Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.Empty);
    }

    [Test]
    public async Task UseTransaction_with_a_native_transaction_of_the_context_connection_is_refused_with_the_way_that_works()
    {
        using var files = new SqliteStrands("ef-use-transaction");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            await context.Database.OpenConnectionAsync();
            await using var native = await context.Database.GetDbConnection().BeginTransactionAsync();

            // Accepted, the context's writes would run in a Helix transaction that the native commit never reaches: a
            // SaveChanges that succeeds, a commit that succeeds, and the row on neither strand.
            Assert.That(
                async () => await context.Database.UseTransactionAsync(native),
                Throws.InstanceOf<NotSupportedException>().With.Message.Contains("UseTransaction").And.Message.Contains("GetHelixTransaction"));
            Assert.That(context.Database.CurrentTransaction, Is.Null);
            await native.RollbackAsync();

            // The way that works: the context's own transaction.
            await using var transaction = await context.Database.BeginTransactionAsync();
            context.Customers.Add(new Customer { Name = "by EF" });
            await context.SaveChangesAsync();
            await transaction.CommitAsync();
        }

        Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.EqualTo(files.Rows(HelixStrand.Primary, Names)).And.EqualTo(new[] { "by EF" }));
    }

    [TestCase(true, true)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    public async Task UseTransaction_with_a_Helix_transaction_begun_by_Dapper_on_the_context_connection_commits_or_rolls_back_both(bool commit, bool async)
    {
        // The plain EF Core way of sharing a transaction: begun by other code on the context's connection (here its Helix
        // connection), then handed to the context. The context's writes and reads run in it; the application ends it.
        using var files = new SqliteStrands("ef-use-helix-transaction");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using (var context = Shop(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            var connection = await context.Database.GetHelixConnectionAsync();
            await using var transaction = async ? await connection.BeginTransactionAsync() : connection.BeginTransaction();
            await connection.ExecuteAsync(Insert, new { Id = Guid.NewGuid(), Name = "by Dapper" }, transaction);
            var used = async ? await context.Database.UseTransactionAsync(transaction) : context.Database.UseTransaction(transaction);
            Assert.That(used!.GetHelixTransaction(), Is.SameAs(transaction));
            Assert.That(await context.Customers.CountAsync(), Is.EqualTo(1), "the context reads in the transaction: Dapper's row, not yet committed");
            context.Customers.Add(new Customer { Name = "by EF" });
            await context.SaveChangesAsync();
            Assert.That(await connection.QuerySingleAsync<int>("SELECT count(*) FROM Customers", transaction: transaction), Is.EqualTo(2));
            if (commit)
            {
                await transaction.CommitAsync();
            }
            else
            {
                await transaction.RollbackAsync();
            }

            await context.Database.UseTransactionAsync(null);
            context.Customers.Add(new Customer { Name = "after" }); // the context's own transaction again
            await context.SaveChangesAsync();
        }

        var expected = commit ? new[] { "after", "by Dapper", "by EF" } : new[] { "after" };
        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, Names), Is.EqualTo(expected));
            Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.EqualTo(expected));
        });
    }

    [Test]
    public async Task A_Helix_transaction_taken_off_the_context_stays_the_application_s_to_use_and_end()
    {
        // EF does not commit, roll back or dispose a transaction it was given: the application does, after
        // UseTransaction(null) has taken it off the context (the connection is the context's, which closes it when disposed).
        using var files = new SqliteStrands("ef-use-helix-transaction-detach");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using var context = Shop(dataSource);
        await context.Database.EnsureCreatedAsync();
        var connection = await context.Database.GetHelixConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await context.Database.UseTransactionAsync(transaction);
        context.Customers.Add(new Customer { Name = "by EF" });
        await context.SaveChangesAsync();
        await context.Database.UseTransactionAsync(null);
        Assert.That(context.Database.CurrentTransaction, Is.Null);
        await connection.ExecuteAsync(Insert, new { Id = Guid.NewGuid(), Name = "by Dapper" }, transaction); // still usable: the context did not end it
        await transaction.CommitAsync();
        Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.EqualTo(files.Rows(HelixStrand.Primary, Names)).And.EqualTo(new[] { "by Dapper", "by EF" }));
    }

    [Test]
    public async Task UseTransaction_with_a_Helix_transaction_of_another_connection_is_refused()
    {
        using var files = new SqliteStrands("ef-use-other-transaction");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using var context = Shop(dataSource);
        await context.Database.EnsureCreatedAsync();
        await using var other = dataSource.CreateConnection();
        await other.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        Assert.That(
            async () => await context.Database.UseTransactionAsync(transaction),
            Throws.InstanceOf<InvalidOperationException>().With.Message.Contains("GetHelixConnection"));
        Assert.That(context.Database.CurrentTransaction, Is.Null);
    }

    [Test]
    public void A_context_without_Helix_has_no_Helix_connection_or_transaction()
    {
        using var files = new SqliteStrands("ef-dapper-plain-ef");
        using var context = new ShopContext(new DbContextOptionsBuilder<ShopContext>().UseSqlite($"Data Source={files.PrimaryPath}").Options);
        context.Database.EnsureCreated();
        using var transaction = context.Database.BeginTransaction();
        Assert.Multiple(() =>
        {
            Assert.That(() => context.Database.GetHelixConnection(), Throws.InvalidOperationException.With.Message.Contains("not configured with UseHelix").And.Message.Contains("GetDbConnection"));
            Assert.That(() => transaction.GetHelixTransaction(), Throws.InvalidOperationException.With.Message.Contains("not configured with UseHelix"));
        });
    }

    private static ShopContext Shop(HelixDataSource dataSource) =>
        new(new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).Options);
}
