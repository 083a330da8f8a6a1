using Helix.Data.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Helix.Data.Tests.EntityFrameworkCore;

/// <summary><c>Database.Migrate()</c> through Helix: applied to both strands, and refused while a strand is not healthy.</summary>
public class EfCoreMigrationTests
{
    private const string Tables = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
    private const string History = "SELECT MigrationId FROM __EFMigrationsHistory ORDER BY MigrationId";

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

    private static NotesContext Migrated(HelixDataSource dataSource) =>
        new(new DbContextOptionsBuilder<NotesContext>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).Options);
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
