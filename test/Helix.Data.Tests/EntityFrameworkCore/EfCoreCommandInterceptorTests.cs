using System.Data;
using System.Data.Common;
using Helix.Data.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.Tests.EntityFrameworkCore;

/// <summary>
/// An application's own command interceptors see and decide each command before Helix runs it, as with plain EF, whether
/// they are registered before <c>UseHelix</c> or after it.
/// </summary>
public class EfCoreCommandInterceptorTests
{
    private const string Names = "SELECT Name FROM Customers";

    [TestCase(true)]
    [TestCase(false)]
    public async Task A_command_an_interceptor_of_the_application_answers_is_run_on_no_strand(bool registeredBeforeUseHelix)
    {
        using var files = new SqliteStrands("ef-intercepted");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        var guard = new ReadOnlyGuardAndCache();
        var options = Options(dataSource, guard, registeredBeforeUseHelix);
        await using (var context = new ShopContext(options))
        {
            await context.Database.EnsureCreatedAsync();
            context.Customers.Add(new Customer { Name = "kept" });
            await context.SaveChangesAsync();

            guard.Armed = true;
            Assert.That(await context.Database.ExecuteSqlRawAsync("DELETE FROM Customers"), Is.Zero, "the guard's answer");
            Assert.That(await context.Customers.CountAsync(), Is.EqualTo(42), "the cache's answer");
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, Names), Is.EqualTo(new[] { "kept" }), "the suppressed DELETE ran on the primary");
            Assert.That(files.Rows(HelixStrand.Secondary, Names), Is.EqualTo(new[] { "kept" }), "the suppressed DELETE ran on the secondary");
        });
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task A_command_an_interceptor_of_the_application_rewrites_runs_rewritten_on_both_strands(bool registeredBeforeUseHelix)
    {
        using var files = new SqliteStrands("ef-rewritten");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        var options = Options(dataSource, new SoftDelete(), registeredBeforeUseHelix);
        await using (var context = new ShopContext(options))
        {
            await context.Database.EnsureCreatedAsync();
            context.Customers.AddRange(new Customer { Name = "kept" }, new Customer { Name = "gone" });
            await context.SaveChangesAsync();
            Assert.That(await context.Database.ExecuteSqlRawAsync("DELETE FROM Customers WHERE Name = 'gone'"), Is.EqualTo(1));
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, Names + " ORDER BY Name"), Is.EqualTo(new[] { "gone (deleted)", "kept" }), "the primary ran the DELETE as EF made it");
            Assert.That(files.Rows(HelixStrand.Secondary, Names + " ORDER BY Name"), Is.EqualTo(new[] { "gone (deleted)", "kept" }), "the secondary ran the DELETE as EF made it");
        });
    }

    /// <summary>A SQLite context's options with an interceptor of the application, added before <c>UseHelix</c> or after it.</summary>
    internal static DbContextOptions<ShopContext> Options(HelixDataSource dataSource, IInterceptor interceptor, bool registeredBeforeUseHelix) =>
        registeredBeforeUseHelix
            ? new DbContextOptionsBuilder<ShopContext>().AddInterceptors(interceptor).UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).Options
            : new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).AddInterceptors(interceptor).Options;

    /// <summary>Turns a <c>DELETE</c> of customers into marking them deleted, by rewriting the command's text.</summary>
    private sealed class SoftDelete : DbCommandInterceptor
    {
        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            command.CommandText = command.CommandText.Replace("DELETE FROM Customers", "UPDATE Customers SET Name = Name || ' (deleted)'", StringComparison.Ordinal);
            return new(result);
        }
    }

    /// <summary>Once armed, answers every statement itself: a write with 0 rows (a read-only mode), a query with a cached 42.</summary>
    private sealed class ReadOnlyGuardAndCache : DbCommandInterceptor
    {
        public bool Armed { get; set; }

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default) =>
            new(Armed ? InterceptionResult<int>.SuppressWithResult(0) : result);

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            if (!Armed)
            {
                return new(result);
            }

            var cached = new DataTable();
            cached.Columns.Add("count", typeof(int));
            cached.Rows.Add(42);
            return new(InterceptionResult<DbDataReader>.SuppressWithResult(cached.CreateDataReader()));
        }
    }
}
