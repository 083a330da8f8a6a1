using System.Data.Common;
using Helix.Data.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Helix.Data.Tests.EntityFrameworkCore;

/// <summary><c>Database.Migrate()</c> through Helix: applied to both strands, and refused while a strand is not healthy.</summary>
public class EfCoreMigrationTests
{
    private const string Tables = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
    private const string History = "SELECT MigrationId FROM __EFMigrationsHistory ORDER BY MigrationId";
    private const string Lock = "SELECT count(*) FROM __EFMigrationsLock";

    [Test]
    public async Task Migrate_applies_each_migration_to_both_strands_once()
    {
        using var files = new SqliteStrands("ef-migrate");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using (var context = Migrated(dataSource))
        {
            await context.Database.MigrateAsync();
            Assert.That(await context.Database.GetAppliedMigrationsAsync(), Is.EqualTo(new[] { "20261203000000_Notes" }));
        }

        await using (var again = Migrated(dataSource))
        {
            await again.Database.MigrateAsync(); // nothing left to apply
            again.Notes.Add(new Note { Text = "after the migration" });
            await again.SaveChangesAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, Tables), Is.EqualTo(new[] { "Notes", "__EFMigrationsHistory", "__EFMigrationsLock" }));
            Assert.That(files.Rows(HelixStrand.Secondary, Tables), Is.EqualTo(files.Rows(HelixStrand.Primary, Tables)));
            Assert.That(files.Rows(HelixStrand.Secondary, History), Is.EqualTo(files.Rows(HelixStrand.Primary, History)).And.Count.EqualTo(1));
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT Text FROM Notes"), Is.EqualTo(new[] { "after the migration" }));
        });
    }

    [TestCase("Primary")]
    [TestCase("Secondary")]
    public async Task Migrate_beside_a_strand_migrated_alone_is_refused_saying_the_histories_differ(string readsFrom)
    {
        using var files = new SqliteStrands("ef-migrate-half");
        await using (var plain = new NotesContext(new DbContextOptionsBuilder<NotesContext>().UseSqlite($"Data Source={files.PrimaryPath};Pooling=False").Options))
        {
            await plain.Database.MigrateAsync();
        }

        await using var dataSource = HelixDataSource.Create(files.ConnectionString("Preferred Strand=" + readsFrom));
        await using (var context = Migrated(dataSource))
        {
            // Depending on the strand EF reads, its SQLite lock (a row in __EFMigrationsLock, a table only the primary has) may
            // meet the difference before the history does: refused then as a schema change the strands' schemas differ on.
            Assert.That(
                async () => await context.Database.MigrateAsync(),
                Throws.Exception.With.Message.Contains("histories differ").Or.Message.Contains("schemas differ"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Secondary, Tables), Does.Not.Contain("Notes"), "nothing made on the secondary");
            Assert.That(files.Rows(HelixStrand.Primary, History), Is.EqualTo(new[] { "20261203000000_Notes" }));
        });
    }

    [Test]
    public async Task Migrate_is_refused_while_a_strand_is_not_healthy_and_changes_nothing()
    {
        using var files = new SqliteStrands("ef-migrate-down");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        dataSource.Drain(HelixStrand.Secondary, "maintenance");
        await using var context = Migrated(dataSource);

        Assert.That(
            async () => await context.Database.MigrateAsync(),
            Throws.InvalidOperationException.With.Message.Contains("strand secondary is Draining").And.Message.Contains("not replayed"));
        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, Tables), Is.Empty);
            Assert.That(files.Rows(HelixStrand.Secondary, Tables), Is.Empty);
        });
    }

    [Test]
    public async Task A_migration_whose_strand_falls_behind_before_its_commit_is_rolled_back_on_both_and_not_replayed()
    {
        using var files = new SqliteStrands("ef-migrate-behind");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());

        // The migration ran on both strands; as it commits, an operator drains the secondary, whose writes now go through
        // replay. Committed on the primary alone, the migration would reach the secondary by replay, whatever its schema
        // is by then: it is rolled back on both instead.
        var drain = new DrainAtCommit(dataSource, HelixStrand.Secondary);
        await using (var context = Migrated(dataSource, drain))
        {
            Assert.That(
                async () => await context.Database.MigrateAsync(),
                Throws.InstanceOf<HelixException>().With.Message.Contains("strand secondary cannot take it").And.Message.Contains("A schema change is not replayed"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(drain.Drained, Is.True, "the migration never committed");
            Assert.That(files.Rows(HelixStrand.Primary, Tables), Does.Not.Contain("Notes"), "the migration committed on the primary");
            Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].Backlog, Is.Zero, "the migration was queued for the secondary");
        });

        dataSource.Undrain(HelixStrand.Secondary);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await dataSource.WaitForReplayAsync(timeout.Token);
        }

        // EF's SQLite provider leaves its lock row after a failed migration, with Helix as without (its docs: delete it).
        Assert.That(files.Rows(HelixStrand.Secondary, Lock), Is.EqualTo(files.Rows(HelixStrand.Primary, Lock)).And.EqualTo(new[] { "1" }));
        files.ExecuteOnBoth("DELETE FROM __EFMigrationsLock");

        await using (var again = Migrated(dataSource))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await again.Database.MigrateAsync(timeout.Token);
        }

        Assert.That(files.Rows(HelixStrand.Secondary, History), Is.EqualTo(files.Rows(HelixStrand.Primary, History)).And.Count.EqualTo(1));
    }

    [Test]
    public async Task The_migration_lock_is_released_on_a_strand_that_left_after_the_migration_committed()
    {
        using var files = new SqliteStrands("ef-migrate-release");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());

        // The migration committed on both strands; as EF releases its lock (a row of __EFMigrationsLock), an operator
        // drains the secondary. Refused, the release would leave the lock on both strands, and every later migration
        // would wait for it; it is released on the primary and reaches the secondary by replay.
        var drain = new DrainBeforeCommand(dataSource, HelixStrand.Secondary, "DELETE FROM \"__EFMigrationsLock\"");
        await using (var context = Migrated(dataSource, drain))
        {
            await context.Database.MigrateAsync();
        }

        Assert.That(drain.Drained, Is.True, "EF never released its lock");
        Assert.That(files.Rows(HelixStrand.Primary, Lock), Is.EqualTo(new[] { "0" }));
        dataSource.Undrain(HelixStrand.Secondary);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await dataSource.WaitForReplayAsync(timeout.Token);
        }

        Assert.That(files.Rows(HelixStrand.Secondary, Lock), Is.EqualTo(new[] { "0" }));
        await using (var again = Migrated(dataSource))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await again.Database.MigrateAsync(timeout.Token); // a lock left held would make this wait
        }
    }

    private static NotesContext Migrated(HelixDataSource dataSource, params IInterceptor[] interceptors) =>
        new(new DbContextOptionsBuilder<NotesContext>().AddInterceptors(interceptors).UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).Options);

    /// <summary>Drains a strand just before EF runs the first command whose text starts with the given text.</summary>
    private sealed class DrainBeforeCommand(HelixDataSource dataSource, HelixStrand strand, string text) : DbCommandInterceptor
    {
        public bool Drained { get; private set; }

        // EF releases its lock with ExecuteScalar, synchronously or not as the migration runs; any command is watched.
        public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result) => Watch(command, result);

        public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Watch(command, result));

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Watch(command, result));

        private T Watch<T>(DbCommand command, T result)
        {
            if (!Drained && command.CommandText.StartsWith(text, StringComparison.Ordinal))
            {
                Drained = true;
                dataSource.Drain(strand, "maintenance, begun as EF releases its migration lock");
            }

            return result;
        }
    }

    /// <summary>Drains a strand when EF is about to commit a transaction, as an operator might at that moment.</summary>
    private sealed class DrainAtCommit(HelixDataSource dataSource, HelixStrand strand) : DbTransactionInterceptor
    {
        public bool Drained { get; private set; }

        public override ValueTask<InterceptionResult> TransactionCommittingAsync(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
        {
            if (!Drained)
            {
                Drained = true;
                dataSource.Drain(strand, "maintenance, begun as the migration commits");
            }

            return ValueTask.FromResult(result);
        }
    }
}

public sealed class Note
{
    public Guid Id { get; set; }

    public string Text { get; set; } = string.Empty;
}

public sealed class NotesContext(DbContextOptions<NotesContext> options) : DbContext(options)
{
    public DbSet<Note> Notes => Set<Note>();
}

/// <summary>A migration as <c>dotnet ef migrations add</c> writes one.</summary>
[DbContext(typeof(NotesContext))]
[Migration("20261203000000_Notes")]
public sealed class NotesMigration : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.CreateTable(
            name: "Notes",
            columns: table => new
            {
                Id = table.Column<Guid>(type: "TEXT", nullable: false),
                Text = table.Column<string>(type: "TEXT", nullable: false),
            },
            constraints: table => table.PrimaryKey("PK_Notes", x => x.Id));

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.DropTable(name: "Notes");
}
