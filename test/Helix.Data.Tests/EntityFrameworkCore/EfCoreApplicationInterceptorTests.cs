using System.Data;
using System.Data.Common;
using Helix.Data.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.Tests.EntityFrameworkCore;

/// <summary>
/// An application's own connection and transaction interceptors that take over a step (they open EF's connection object
/// themselves, or answer <c>TransactionStarting</c> with a transaction of their own) are respected, as with plain EF,
/// or refused where the step cannot reach both strands. Before, Helix opened the connection and began a transaction of
/// its own all the same: the application's open ran twice, and its transaction was dropped unseen.
/// </summary>
public class EfCoreApplicationInterceptorTests
{
    private const string Names = "SELECT Name FROM Customers ORDER BY Name";

    [TestCase(true)]
    [TestCase(false)]
    public async Task A_connection_an_interceptor_of_the_application_opens_itself_is_not_opened_again_and_the_context_writes_both_strands(bool registeredBeforeUseHelix)
    {
        using var files = new SqliteStrands("ef-app-opens");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        var opener = new OpensItself();
        await using (var context = new ShopContext(EfCoreCommandInterceptorTests.Options(dataSource, opener, registeredBeforeUseHelix)))
        {
            await context.Database.EnsureCreatedAsync();
            context.Customers.Add(new Customer { Name = "by EF" });
            await context.SaveChangesAsync();
            Assert.That(await context.Customers.CountAsync(), Is.EqualTo(1));
            Assert.That(context.Database.GetDbConnection().State, Is.EqualTo(ConnectionState.Closed), "EF closed the object the application opened");
        }

        Assert.Multiple(() =>
        {
            Assert.That(opener.Opens, Is.GreaterThanOrEqualTo(3), "the application's own opens");
            Assert.That(opener.FoundOpen, Is.Zero, "Helix opened none of EF's objects before the application did");
            Assert.That(files.Rows(HelixStrand.Primary, Names), Is.EqualTo(new[] { "by EF" }));
            Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.EqualTo(new[] { "by EF" }));
        });
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task A_Helix_transaction_an_interceptor_of_the_application_begins_is_the_contexts_committed_or_rolled_back_on_both_strands(bool commit)
    {
        using var files = new SqliteStrands("ef-app-transaction");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        var begins = new BeginsOnHelix();
        await using (var context = new ShopContext(EfCoreCommandInterceptorTests.Options(dataSource, begins, registeredBeforeUseHelix: true)))
        {
            await context.Database.EnsureCreatedAsync();
            begins.Armed = true;
            await using var transaction = await context.Database.BeginTransactionAsync();
            Assert.That(transaction.GetHelixTransaction(), Is.SameAs(begins.Begun), "the context's transaction is the interceptor's");
            context.Customers.Add(new Customer { Name = "in the interceptor's transaction" });
            await context.SaveChangesAsync();
            if (commit)
            {
                await transaction.CommitAsync();
            }
        }

        string[] expected = commit ? ["in the interceptor's transaction"] : [];
        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, Names), Is.EqualTo(expected));
            Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.EqualTo(expected));
            Assert.That(begins.Begun!.Connection, Is.Null, "ended with the context's transaction");
        });
    }

    [Test]
    public async Task A_native_transaction_an_interceptor_of_the_application_begins_is_refused_and_nothing_is_written()
    {
        using var files = new SqliteStrands("ef-app-native-transaction");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        var begins = new BeginsNatively();
        await using (var context = new ShopContext(EfCoreCommandInterceptorTests.Options(dataSource, begins, registeredBeforeUseHelix: true)))
        {
            await context.Database.EnsureCreatedAsync();
            begins.Armed = true;
            Assert.That(
                async () => await context.Database.BeginTransactionAsync(),
                Throws.InstanceOf<NotSupportedException>().With.Message.Contains("transaction interceptor of the application").And.Message.Contains("GetHelixConnection"));
            Assert.That(context.Database.CurrentTransaction, Is.Null);
            begins.Begun!.Dispose();
        }

        Assert.That(files.Rows(HelixStrand.Primary, Names), Is.Empty);
    }

    /// <summary>Opens EF's connection object itself (as code that opens with a policy of its own does) and suppresses EF's open.</summary>
    private sealed class OpensItself : DbConnectionInterceptor
    {
        public int Opens { get; private set; }

        public int FoundOpen { get; private set; }

        public override InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result) =>
            Open(connection);

        public override async ValueTask<InterceptionResult> ConnectionOpeningAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
        {
            if (connection.State == ConnectionState.Open)
            {
                FoundOpen++;
                return InterceptionResult.Suppress();
            }

            await connection.OpenAsync(cancellationToken);
            Opens++;
            return InterceptionResult.Suppress();
        }

        private InterceptionResult Open(DbConnection connection)
        {
            if (connection.State == ConnectionState.Open)
            {
                FoundOpen++;
                return InterceptionResult.Suppress();
            }

            connection.Open();
            Opens++;
            return InterceptionResult.Suppress();
        }
    }

    /// <summary>Answers EF's transaction with a Helix transaction it begins on the context's Helix connection.</summary>
    private sealed class BeginsOnHelix : DbTransactionInterceptor
    {
        public bool Armed { get; set; }

        public HelixTransaction? Begun { get; private set; }

        public override ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
        {
            if (!Armed)
            {
                return new(result);
            }

            Begun = eventData.Context!.Database.GetHelixConnection().BeginTransaction(eventData.IsolationLevel);
            return new(InterceptionResult<DbTransaction>.SuppressWithResult(Begun));
        }
    }

    /// <summary>Answers EF's transaction with a native one it begins on EF's connection object (one strand's).</summary>
    private sealed class BeginsNatively : DbTransactionInterceptor
    {
        public bool Armed { get; set; }

        public DbTransaction? Begun { get; private set; }

        public override async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
        {
            if (!Armed)
            {
                return result;
            }

            Begun = await connection.BeginTransactionAsync(eventData.IsolationLevel, cancellationToken);
            return InterceptionResult<DbTransaction>.SuppressWithResult(Begun);
        }
    }
}
