using System.ComponentModel.DataAnnotations.Schema;
using Helix.Data.IntegrationTests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary>PostgreSQL types whose parameters EF's Npgsql provider types itself (jsonb, arrays, enums) through Helix.</summary>
public class EfCorePostgresTypeTests : PostgresTestBase
{
    private const string MoodsDump = "SELECT \"Mood\"::text FROM \"Moods\" ORDER BY \"Mood\"::text, \"Id\"";

    private const string Dump = "SELECT \"Data\"::text, \"Numbers\"::text, \"Tags\"::text FROM \"Documents\"";

    [TestCase(false)]
    [TestCase(true)]
    public async Task Jsonb_and_arrays_are_written_to_both_servers_alike_and_queried(bool inTransaction)
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using (var context = Documents(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
        }

        await using (var context = Documents(dataSource))
        {
            await using var transaction = inTransaction ? await context.Database.BeginTransactionAsync() : null;
            context.Documents.Add(new Document { Data = "{\"a\": 1}", Numbers = [1, 2], Tags = ["x", "y"] });
            await context.SaveChangesAsync();

            // Array operators and a jsonb parameter in a query: EF's typed parameters reach the strand that reads.
            Assert.That(await context.Documents.CountAsync(d => d.Numbers.Contains(2) && d.Tags.Contains("y")), Is.EqualTo(1));
            var doc = await context.Documents.SingleAsync();
            doc.Data = "{\"a\": 2}";
            doc.Numbers = [3];
            await context.SaveChangesAsync();
            if (transaction is not null)
            {
                await transaction.CommitAsync();
            }
        }

        Assert.That(await RowsAsync(HelixStrand.Secondary, Dump), Is.EqualTo(await RowsAsync(HelixStrand.Primary, Dump)).And.EqualTo(new[] { "{\"a\": 2}|{3}|{x,y}" }));
    }

    [Test]
    public async Task An_enum_mapped_by_EF_over_strands_from_connection_strings_is_refused_and_nothing_reaches_either_server()
    {
        // Strands from connection strings: Helix builds their data sources, which do not know EF's enum mapping (it lives
        // in the data source EF builds for its own connections). The write fails before any strand runs it: nothing is
        // written, nothing is queued. Strands given as data sources that map the enum work (the tests below).
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using (var context = Moods(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
        }

        await using (var context = Moods(dataSource))
        {
            context.Moods.Add(new MoodRow { Mood = Mood.Sad });
            Assert.That(async () => await context.SaveChangesAsync(), Throws.InstanceOf<DbUpdateException>().With.InnerException.InstanceOf<InvalidCastException>().Or.InnerException.InstanceOf<NotSupportedException>());
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT count(*) FROM \"Moods\""), Is.EqualTo(new[] { "0" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT count(*) FROM \"Moods\""), Is.EqualTo(new[] { "0" }));
            Assert.That(dataSource.GetStatus()[HelixStrand.Primary].Backlog + dataSource.GetStatus()[HelixStrand.Secondary].Backlog, Is.Zero);
        });
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task An_enum_mapped_by_the_strands_data_sources_is_created_written_and_queried_on_both_servers(bool migrate)
    {
        await using var strands = MoodStrands();
        await using (var context = Moods(strands.Helix))
        {
            if (migrate)
            {
                await context.Database.MigrateAsync(); // CREATE TYPE in the migration's transaction; the types reloaded after it
            }
            else
            {
                await context.Database.EnsureCreatedAsync();
            }

            // The same context, after the schema change: both strands' data sources know the new type now.
            context.Moods.Add(new MoodRow { Mood = Mood.Sad });
            await context.SaveChangesAsync();
        }

        await using (var context = Moods(strands.Helix))
        {
            context.Moods.Add(new MoodRow { Mood = Mood.Happy });
            await context.SaveChangesAsync();
            Assert.That(await context.Moods.CountAsync(m => m.Mood == Mood.Sad), Is.EqualTo(1), "an enum parameter in a query");
            Assert.That((await context.Moods.OrderBy(m => m.Mood).Select(m => m.Mood).ToListAsync()), Is.EqualTo(new[] { Mood.Happy, Mood.Sad }));
        }

        Assert.That(await RowsAsync(HelixStrand.Secondary, MoodsDump), Is.EqualTo(await RowsAsync(HelixStrand.Primary, MoodsDump)).And.EqualTo(new[] { "happy", "sad" }));
    }

    [Test]
    public async Task With_the_primary_down_enum_writes_go_to_the_secondary_on_its_data_source_and_reach_the_primary_by_replay()
    {
        PostgresServers.RequireFaultControl();
        await using var strands = MoodStrands("Strand Retry=0", ";Timeout=2;Command Timeout=2");
        await using (var context = Moods(strands.Helix))
        {
            await context.Database.EnsureCreatedAsync();
        }

        await PostgresServers.Primary.KillAsync();
        await using (var context = Moods(strands.Helix))
        {
            // EF's own connection object opens on the secondary: one from the secondary's data source, which maps the enum.
            context.Moods.Add(new MoodRow { Mood = Mood.Sad });
            await context.SaveChangesAsync();
            Assert.That(await context.Moods.Where(m => m.Mood == Mood.Sad).CountAsync(), Is.EqualTo(1));
            await using var transaction = await context.Database.BeginTransactionAsync();
            context.Moods.Add(new MoodRow { Mood = Mood.Happy });
            await context.SaveChangesAsync();
            await transaction.CommitAsync();
        }

        await PostgresServers.Primary.StartAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await strands.Helix.WaitForReplayAsync(timeout.Token);
        }

        Assert.That(await RowsAsync(HelixStrand.Primary, MoodsDump), Is.EqualTo(await RowsAsync(HelixStrand.Secondary, MoodsDump)).And.EqualTo(new[] { "happy", "sad" }));

        // A context opening with both strands up again gets EF's connection object back on the primary's data source.
        await using (var context = Moods(strands.Helix))
        {
            context.Moods.Add(new MoodRow { Mood = Mood.Happy });
            await context.SaveChangesAsync();
        }

        Assert.That(await RowsAsync(HelixStrand.Primary, MoodsDump), Is.EqualTo(await RowsAsync(HelixStrand.Secondary, MoodsDump)).And.Count.EqualTo(3));
    }

    private static DocumentContext Documents(HelixDataSource dataSource) =>
        new(new DbContextOptionsBuilder<DocumentContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options);

    /// <summary>A Helix data source whose strands are NpgsqlDataSources that map <see cref="Mood"/>, as an application builds them.</summary>
    private MoodStrandSources MoodStrands(string helix = "", string inner = "")
    {
        NpgsqlDataSource Strand(PostgresServer server) =>
            new NpgsqlDataSourceBuilder(server.ConnectionString(Database) + inner).MapEnum<Mood>("mood").Build();
        var (primary, secondary) = (Strand(PostgresServers.Primary), Strand(PostgresServers.Secondary));
        var helixDataSource = new HelixDataSourceBuilder("Helix;" + helix).UsePrimary(primary).UseSecondary(secondary).Build();
        return new MoodStrandSources(helixDataSource, primary, secondary);
    }

    private static MoodContext Moods(HelixDataSource dataSource) =>
        new(new DbContextOptionsBuilder<MoodContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary, npgsql => npgsql.MapEnum<Mood>("mood"))).Options);
}

public sealed class Document
{
    public Guid Id { get; set; }

    [Column(TypeName = "jsonb")]
    public string Data { get; set; } = "{}";

    public int[] Numbers { get; set; } = [];

    public List<string> Tags { get; set; } = [];
}

public sealed class DocumentContext(DbContextOptions<DocumentContext> options) : DbContext(options)
{
    public DbSet<Document> Documents => Set<Document>();
}

public enum Mood
{
    Happy,
    Sad,
}

public sealed class MoodRow
{
    public Guid Id { get; set; }

    public Mood Mood { get; set; }
}

public sealed class MoodContext(DbContextOptions<MoodContext> options) : DbContext(options)
{
    public DbSet<MoodRow> Moods => Set<MoodRow>();
}

/// <summary>The Helix data source and the strands' data sources it was given (which Helix does not dispose).</summary>
internal sealed record MoodStrandSources(HelixDataSource Helix, NpgsqlDataSource Primary, NpgsqlDataSource Secondary) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        await Helix.DisposeAsync();
        await Primary.DisposeAsync();
        await Secondary.DisposeAsync();
    }
}

/// <summary>The model of <see cref="MoodContext"/> as one migration, for <c>Migrate</c>.</summary>
[DbContext(typeof(MoodContext))]
[Migration("20261204000000_Moods")]
public sealed class MoodsMigration : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.AlterDatabase().Annotation("Npgsql:Enum:mood", "happy,sad");
        migrationBuilder.CreateTable(
            name: "Moods",
            columns: table => new
            {
                Id = table.Column<Guid>(type: "uuid", nullable: false),
                Mood = table.Column<Mood>(type: "mood", nullable: false),
            },
            constraints: table => table.PrimaryKey("PK_Moods", x => x.Id));
    }
}
