using Helix.Data.IntegrationTests.Support;
using Microsoft.EntityFrameworkCore;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary>
/// Row-level security through <c>UseHelix</c>: the tenant set for each transaction with <c>ExecuteSql</c>, as EF Core
/// applications on PostgreSQL do it (contract amendment 43).
/// </summary>
public class EfCorePostgresRowLevelSecurityTests : PostgresTestBase
{
    [Test]
    public async Task The_tenant_set_in_a_transaction_holds_for_its_SaveChanges_and_queries_and_replays_with_it()
    {
        PostgresServers.RequireFaultControl();
        await CreateTenantRoleOnBothAsync();
        await ExecuteOnBothAsync("""
            CREATE TABLE "Notes" ("Id" uuid PRIMARY KEY, "Tenant" text NOT NULL, "Body" text NOT NULL);
            ALTER TABLE "Notes" ENABLE ROW LEVEL SECURITY;
            ALTER TABLE "Notes" FORCE ROW LEVEL SECURITY;
            CREATE POLICY by_tenant ON "Notes" USING ("Tenant" = current_setting('app.tenant', true)) WITH CHECK ("Tenant" = current_setting('app.tenant', true));
            GRANT SELECT, INSERT ON "Notes" TO helix_tenant_app;
            """);
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: TenantLogin + ";Timeout=2;Command Timeout=2"));
        Assert.That(await SaveNoteAsync(dataSource, "acme", "a1"), Is.EqualTo(new[] { "a1" }));

        await PostgresServers.Secondary.KillAsync(); // the secondary gets the next two by replay, where the policy checks them again
        Assert.That(await SaveNoteAsync(dataSource, "acme", "a2"), Is.EqualTo(new[] { "a1", "a2" }));
        Assert.That(await SaveNoteAsync(dataSource, "globex", "g1"), Is.EqualTo(new[] { "g1" }), "row-level security shows a tenant its own rows");

        await PostgresServers.Secondary.StartAsync();
        await WaitForReplayAsync(dataSource);
        const string Notes = "SELECT \"Tenant\" || ':' || \"Body\" FROM \"Notes\" ORDER BY 1";
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, Notes), Is.EqualTo(new[] { "acme:a1", "acme:a2", "globex:g1" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, Notes), Is.EqualTo(new[] { "acme:a1", "acme:a2", "globex:g1" }));
            Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy), "no entry refused by the policy on replay");
        });
    }

    /// <summary>Saves a note in a transaction that sets the tenant first; returns the bodies the tenant sees before the commit.</summary>
    private static async Task<List<string>> SaveNoteAsync(HelixDataSource dataSource, string tenant, string body)
    {
        await using var context = new NotesContext(new DbContextOptionsBuilder<NotesContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options);
        await using var transaction = await context.Database.BeginTransactionAsync();
        await context.Database.ExecuteSqlAsync($"SELECT set_config('app.tenant', {tenant}, true)");
        context.Notes.Add(new Note { Id = Guid.CreateVersion7(), Tenant = tenant, Body = body });
        await context.SaveChangesAsync();
        var seen = await context.Notes.OrderBy(n => n.Body).Select(n => n.Body).ToListAsync();
        await transaction.CommitAsync();
        return seen;
    }

    private sealed class Note
    {
        public Guid Id { get; set; }

        public string Tenant { get; set; } = string.Empty;

        public string Body { get; set; } = string.Empty;
    }

    private sealed class NotesContext(DbContextOptions options) : DbContext(options)
    {
        public DbSet<Note> Notes => Set<Note>();
    }
}
