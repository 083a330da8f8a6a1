using System.Data;
using System.Data.Common;
using Helix.Data.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.Tests.EntityFrameworkCore;

/// <summary>An application's own command interceptor registered before <c>UseHelix</c> keeps the last word, as with plain EF.</summary>
public class EfCoreCommandInterceptorTests
{
    private const string Names = "SELECT Name FROM Customers";

    [Test]
    public async Task A_command_an_earlier_interceptor_answers_is_run_on_no_strand()
    {
        using var files = new SqliteStrands("ef-intercepted");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        var guard = new ReadOnlyGuardAndCache();
        var options = new DbContextOptionsBuilder<ShopContext>().AddInterceptors(guard).UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).Options;
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
