using Helix.Data.IntegrationTests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary><c>Database.Migrate()</c> through Helix on the two real PostgreSQL servers.</summary>
public class EfCorePostgresMigrationTests : PostgresTestBase
{
    private const string History = "SELECT \"MigrationId\" FROM \"__EFMigrationsHistory\" ORDER BY 1";

    [Test]
    public async Task Migrate_applies_each_migration_to_both_servers_once_and_again_applies_nothing()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using (var context = Memos(dataSource))
        {
            await context.Database.MigrateAsync();
            Assert.That(await context.Database.GetAppliedMigrationsAsync(), Is.EqualTo(new[] { "20261203000000_Memos" }));
        }

        await using (var again = Memos(dataSource))
        {
            await again.Database.MigrateAsync(); // nothing left to apply; the migration lock taken and released again
            again.Memos.Add(new Memo { Text = "after the migration" });
            await again.SaveChangesAsync();
        }

        await using (var third = Memos(dataSource))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await third.Database.MigrateAsync(timeout.Token); // a lock left held by an earlier run would make this wait
        }

        var primary = await RowsAsync(HelixStrand.Primary, History);
        Assert.Multiple(async () =>
        {
            Assert.That(primary, Is.EqualTo(new[] { "20261203000000_Memos" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, History), Is.EqualTo(primary));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT \"Text\" FROM \"Memos\""), Is.EqualTo(new[] { "after the migration" }));
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT \"Text\" FROM \"Memos\""), Is.EqualTo(new[] { "after the migration" }));
        });
    }

    [TestCase("Primary")]
    [TestCase("Secondary")]
    public async Task Migrate_beside_a_primary_migrated_alone_is_refused_saying_the_histories_differ_and_nothing_changes(string readsFrom)
    {
        // A secondary put in beside a primary in use: its database is empty, the primary's migrated. Before, EF read one
        // strand's history: the secondary's (empty), and it applied the migration on both, the primary refusing it
        // ("already exists"); the primary's, and it applied nothing, the secondary left without the schema, unseen.
        await using (var plain = new MemoContext(new DbContextOptionsBuilder<MemoContext>().UseNpgsql(PostgresServers.Primary.ConnectionString(Database)).Options))
        {
            await plain.Database.MigrateAsync();
        }

        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Preferred Strand=" + readsFrom));
        await using (var context = Memos(dataSource))
        {
            var refused = Assert.CatchAsync<InvalidOperationException>(() => context.Database.MigrateAsync());
            Assert.That(refused!.Message, Does.Contain("migrations histories differ").And.Contain("20261203000000_Memos").And.Contain("helix resync"));
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT count(*) FROM pg_tables WHERE tablename = 'Memos'"), Is.EqualTo(new[] { "0" }), "nothing made on the secondary");
            Assert.That(await RowsAsync(HelixStrand.Primary, History), Is.EqualTo(new[] { "20261203000000_Memos" }), "the primary as it was");
            Assert.That(dataSource.GetStatus().Strands.Select(s => (s.State, s.Backlog)), Is.All.EqualTo((HelixStrandState.Healthy, 0L)));
        });
    }

    [Test]
    public async Task A_migration_locks_the_primary_before_the_secondary_so_that_two_processes_cannot_deadlock_across_the_servers()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using (var first = Memos(dataSource))
        {
            await first.Database.MigrateAsync();
        }

        // Another process in the middle of its migration holds the primary's history table (in a mode that lets reads
        // through). Were the strands locked at once, this process would take the secondary's lock and wait for the
        // primary's, while the other would wait for the secondary's: a deadlock neither server can see.
        await using var other = new NpgsqlConnection(PostgresServers.Primary.ConnectionString(Database) + ";Pooling=false");
        await other.OpenAsync();
        var holding = await other.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE \"__EFMigrationsHistory\" IN SHARE MODE", other, holding))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        await using var second = Memos(dataSource);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var migrating = second.Database.MigrateAsync(timeout.Token);
        const string Waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = '\"__EFMigrationsHistory\"'::regclass";
        await Eventually.ThatAsync(async () => migrating.IsCompleted || (await RowsAsync(HelixStrand.Primary, Waiting))[0] != "0", "the migration waits for the primary's history table");
        Assert.That(migrating.IsCompleted, Is.False, "the migration did not wait for the lock the other process holds on the primary");

        const string Held = "SELECT count(*) FROM pg_locks WHERE granted AND mode = 'AccessExclusiveLock' AND relation = '\"__EFMigrationsHistory\"'::regclass";
        Assert.That((await RowsAsync(HelixStrand.Secondary, Held))[0], Is.EqualTo("0"), "the migration locked the secondary's history table while it waited for the primary's");

        await holding.RollbackAsync();
        await migrating;
        Assert.That(await RowsAsync(HelixStrand.Secondary, History), Is.EqualTo(await RowsAsync(HelixStrand.Primary, History)));
    }

    [Test]
    public async Task A_server_killed_in_the_middle_of_a_migration_rolls_it_back_on_both_and_nothing_is_replayed()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: ";Timeout=2;Command Timeout=2"));

        // The secondary dies at the migration's last statement, its history row, after both servers ran its DDL: the
        // primary writes the row, the secondary cannot. Replayed, the migration would be committed on the primary and
        // applied to the secondary later, whatever its schema is then; instead it fails and is rolled back where it ran.
        var kill = new KillBeforeCommand("INSERT INTO \"__EFMigrationsHistory\"", PostgresServers.Secondary);
        await using (var context = Memos(dataSource, kill))
        {
            Assert.That(
                async () => await context.Database.MigrateAsync(),
                Throws.InstanceOf<HelixException>().With.Message.Contains("A schema change is not replayed"));
        }

        Assert.Multiple(async () =>
        {
            Assert.That(kill.Killed, Is.True, "the migration never wrote its history row");
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'Memos'"), Is.EqualTo(new[] { "0" }), "the migration's table stayed on the primary");
            Assert.That(await RowsAsync(HelixStrand.Primary, History), Is.Empty, "the migration's history stayed on the primary");
            Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].Backlog, Is.Zero, "the migration was queued for the secondary");
        });

        await PostgresServers.Secondary.StartAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await dataSource.WaitForReplayAsync(timeout.Token);
        }

        await using (var again = Memos(dataSource))
        {
            await again.Database.MigrateAsync();
        }

        Assert.That(await RowsAsync(HelixStrand.Secondary, History), Is.EqualTo(await RowsAsync(HelixStrand.Primary, History)).And.EqualTo(new[] { "20261203000000_Memos" }));
    }

    private static MemoContext Memos(HelixDataSource dataSource, params IInterceptor[] interceptors) =>
        new(new DbContextOptionsBuilder<MemoContext>().AddInterceptors(interceptors).UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options);
}

public sealed class Memo
{
    public Guid Id { get; set; }

    public string Text { get; set; } = string.Empty;
}

public sealed class MemoContext(DbContextOptions<MemoContext> options) : DbContext(options)
{
    public DbSet<Memo> Memos => Set<Memo>();
}

/// <summary>A migration as <c>dotnet ef migrations add</c> writes one for Npgsql.</summary>
[DbContext(typeof(MemoContext))]
[Migration("20261203000000_Memos")]
public sealed class MemosMigration : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.CreateTable(
            name: "Memos",
            columns: table => new
            {
                Id = table.Column<Guid>(type: "uuid", nullable: false),
                Text = table.Column<string>(type: "text", nullable: false),
            },
            constraints: table => table.PrimaryKey("PK_Memos", x => x.Id));

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.DropTable(name: "Memos");
}
