using System.ComponentModel.DataAnnotations.Schema;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Tests.EntityFrameworkCore;
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
    public async Task An_enum_mapped_by_EF_is_created_written_and_queried_on_both_servers(
        [Values] bool migrate,
        [Values("connection strings", "data sources")] string strandsFrom)
    {
        // From connection strings, EF's options map the enum and Helix's strands take their connections from the data
        // source EF's provider builds for each strand's connection string; given as data sources, those map it.
        await using var strands = MoodStrands(strandsFrom);
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

    [TestCase("connection strings", "memory")]
    [TestCase("connection strings", "file")]
    [TestCase("data sources", "memory")]
    public async Task With_the_primary_down_enum_writes_go_to_the_secondary_and_reach_the_primary_by_replay(string strandsFrom, string queue)
    {
        PostgresServers.RequireFaultControl();
        var replay = queue == "file" ? ";Replay=file:" + Path.Combine(Directory.CreateTempSubdirectory("helix-ef-enum-").FullName, "replay.db") : string.Empty;
        await using var strands = MoodStrands(strandsFrom, "Strand Retry=0" + replay, ";Timeout=2;Command Timeout=2");
        await using (var context = Moods(strands.Helix))
        {
            await context.Database.EnsureCreatedAsync();
        }

        await PostgresServers.Primary.KillAsync();
        await using (var context = Moods(strands.Helix))
        {
            // EF's own connection object opens on the secondary: one from the data source that maps the enum there.
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

    [Test]
    public void Pooled_contexts_through_the_synchronous_API_move_EFs_connection_object_to_the_secondary_and_back()
    {
        // A pooled context keeps EF's connection object from lease to lease: Helix puts one of the secondary's data source
        // in its place while the primary is down, and one of the primary's once reads fail back to it.
        PostgresServers.RequireFaultControl();
        using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0;Read Strategy=PrimaryOnly;Failback=Automatic", ";Timeout=2;Command Timeout=2"));
        var options = new DbContextOptionsBuilder<MoodContext>()
            .UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary, npgsql => npgsql.MapEnum<Mood>("mood")))
            .Options;
        var contexts = new Microsoft.EntityFrameworkCore.Infrastructure.PooledDbContextFactory<MoodContext>(options, poolSize: 1);
        using (var context = contexts.CreateDbContext())
        {
            context.Database.EnsureCreated();
            context.Moods.Add(new MoodRow { Mood = Mood.Happy });
            context.SaveChanges();
        }

        PostgresServers.Primary.KillAsync().GetAwaiter().GetResult();
        System.Data.Common.DbConnection onSecondary;
        using (var context = contexts.CreateDbContext())
        {
            context.Database.SetCommandTimeout(7);
            context.Moods.Add(new MoodRow { Mood = Mood.Sad });
            context.SaveChanges();
            Assert.That(context.Moods.Count(m => m.Mood == Mood.Sad), Is.EqualTo(1));
            onSecondary = context.Database.GetDbConnection();
            Assert.That(context.Database.GetCommandTimeout(), Is.EqualTo(7), "kept when EF's connection object was replaced");
        }

        PostgresServers.Primary.StartAsync().GetAwaiter().GetResult();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            dataSource.WaitForReplayAsync(timeout.Token).GetAwaiter().GetResult();
        }

        using (var context = contexts.CreateDbContext())
        {
            context.Moods.Add(new MoodRow { Mood = Mood.Sad });
            context.SaveChanges();
            Assert.That(context.Moods.Count(), Is.EqualTo(3));
            Assert.That(context.Database.GetDbConnection(), Is.Not.SameAs(onSecondary), "back on an object of the primary's data source");
        }

        Assert.That(RowsAsync(HelixStrand.Primary, MoodsDump).GetAwaiter().GetResult(), Is.EqualTo(RowsAsync(HelixStrand.Secondary, MoodsDump).GetAwaiter().GetResult()).And.EqualTo(new[] { "happy", "sad", "sad" }));
    }

    [TestCase("memory")]
    [TestCase("file")]
    public async Task NodaTime_values_of_EFs_plugin_are_written_to_both_servers_queried_and_replayed(string queue)
    {
        // EF's NodaTime plugin adds its type mappings to the data source EF's Npgsql provider builds: the strands'
        // connections come from that data source built for each strand, so both servers take Instant and LocalDate.
        PostgresServers.RequireFaultControl();
        // The file queue stores an Instant as the text its TypeConverter writes (NodaTime's round-trip pattern).
        var replay = queue == "file" ? ";Replay=file:" + Path.Combine(Directory.CreateTempSubdirectory("helix-ef-nodatime-").FullName, "replay.db") : string.Empty;
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0" + replay, ";Timeout=2;Command Timeout=2"));
        var at = NodaTime.Instant.FromUtc(2026, 12, 4, 15, 0).Plus(NodaTime.Duration.FromTicks(1_234_560)); // microseconds, as PostgreSQL keeps
        await using (var context = Events(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            context.Events.Add(new EventRow { At = at, Day = new NodaTime.LocalDate(2026, 12, 4) });
            await context.SaveChangesAsync();
            Assert.That(await context.Events.CountAsync(e => e.At >= at && e.Day == new NodaTime.LocalDate(2026, 12, 4)), Is.EqualTo(1));
        }

        await PostgresServers.Primary.KillAsync();
        await using (var context = Events(dataSource))
        {
            context.Events.Add(new EventRow { At = at.Plus(NodaTime.Duration.FromHours(1)), Day = new NodaTime.LocalDate(2026, 12, 5) });
            await context.SaveChangesAsync(); // on the secondary; the primary gets it by replay
            Assert.That(await context.Events.MaxAsync(e => e.At), Is.EqualTo(at.Plus(NodaTime.Duration.FromHours(1))));
        }

        await PostgresServers.Primary.StartAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await dataSource.WaitForReplayAsync(timeout.Token);
        }

        const string EventsDump = "SELECT \"At\"::text, \"Day\"::text FROM \"Events\" ORDER BY \"At\"";
        Assert.That(await RowsAsync(HelixStrand.Primary, EventsDump), Is.EqualTo(await RowsAsync(HelixStrand.Secondary, EventsDump)).And.Count.EqualTo(2));
    }

    [Test]
    public async Task A_context_that_configures_its_provider_otherwise_on_the_same_data_source_is_warned_about()
    {
        // The strands make their connections from the data source the first context's provider built (MapEnum here);
        // a context with other type mappings (NodaTime) would fail on them for its own types: said once, per strand.
        var log = new Collected();
        using var loggers = new Microsoft.Extensions.Logging.LoggerFactory([log]);
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString()).UseLoggerFactory(loggers).Build();
        await using (var context = Moods(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
        }

        await using (var context = Moods(dataSource))
        {
            Assert.That(await context.Moods.CountAsync(), Is.Zero);
        }

        Assert.That(log.Messages, Is.Empty, "contexts configured alike");
        for (var i = 0; i < 2; i++)
        {
            await using var context = Events(dataSource);
            await context.Database.OpenConnectionAsync();
        }

        Assert.That(log.Messages, Has.Count.EqualTo(2).And.All.Contains("EventContext").And.All.Contains("otherwise"));
    }

    [Test]
    public async Task A_context_with_NodaTime_after_a_plain_context_on_the_same_data_source_writes_its_types_on_both_servers()
    {
        // A plain context (its provider builds no data source) opens first, as an application's identity context may;
        // the strands must still take the data source the NodaTime context's provider builds when it comes.
        var log = new Collected();
        using var loggers = new Microsoft.Extensions.Logging.LoggerFactory([log]);
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString()).UseLoggerFactory(loggers).Build();
        await using (var plain = new ShopContext(new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options))
        {
            await plain.Database.EnsureCreatedAsync();
            plain.Customers.Add(ShopData.Alice());
            await plain.SaveChangesAsync();
        }

        var at = NodaTime.Instant.FromUtc(2026, 12, 4, 15, 0);
        await using (var context = Events(dataSource))
        {
            await context.GetService<Microsoft.EntityFrameworkCore.Storage.IRelationalDatabaseCreator>().CreateTablesAsync();
            context.Events.Add(new EventRow { At = at, Day = new NodaTime.LocalDate(2026, 12, 4) });
            await context.SaveChangesAsync();
            Assert.That(await context.Events.CountAsync(e => e.At == at), Is.EqualTo(1));
        }

        await using (var plain = new ShopContext(new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options))
        {
            Assert.That(await plain.Lines.CountAsync(), Is.EqualTo(3), "the plain context goes on, on the NodaTime data source's connections");
        }

        const string EventsDump = "SELECT \"At\"::text, \"Day\"::text FROM \"Events\"";
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, EventsDump), Is.EqualTo(await RowsAsync(HelixStrand.Secondary, EventsDump)).And.Count.EqualTo(1));
            Assert.That(log.Messages, Is.Empty, "nothing to warn about");
        });
    }

    /// <summary>Helix's warnings of event 3007.</summary>
    private sealed class Collected : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Messages { get; } = [];

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 3007)
            {
                lock (Messages)
                {
                    Messages.Add(formatter(state, exception));
                }
            }
        }

        public void Dispose()
        {
        }
    }

    [Test]
    public async Task A_new_contexts_first_command_is_a_query_on_the_secondary_of_a_provider_built_data_source()
    {
        // With a plugin, EF's connection object comes from the data source EF's provider built for the primary; a context
        // whose reads go to the secondary gets another object at its first open. EF makes a query's command before it
        // opens the connection: that command, made on the object replaced, must still run through Helix.
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Preferred Strand=secondary"));
        var at = NodaTime.Instant.FromUtc(2026, 12, 4, 15, 0);
        await using (var context = Events(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
            context.Events.Add(new EventRow { At = at, Day = new NodaTime.LocalDate(2026, 12, 4) });
            await context.SaveChangesAsync();
        }

        for (var i = 0; i < 3; i++)
        {
            await using var context = Events(dataSource);
            Assert.That(await context.Events.CountAsync(e => e.At >= at), Is.EqualTo(1), $"context {i}: its first command, a query");
        }

        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT count(*) FROM \"Events\""), Is.EqualTo(new[] { "1" }));
    }

    private static EventContext Events(HelixDataSource dataSource) =>
        new(new DbContextOptionsBuilder<EventContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary, npgsql => npgsql.UseNodaTime())).Options);

    private static DocumentContext Documents(HelixDataSource dataSource) =>
        new(new DbContextOptionsBuilder<DocumentContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options);

    /// <summary>
    /// A Helix data source from a Helix connection string, or whose strands are NpgsqlDataSources that map
    /// <see cref="Mood"/>, as an application builds them.
    /// </summary>
    private MoodStrandSources MoodStrands(string strandsFrom, string helix = "", string inner = "")
    {
        if (strandsFrom == "connection strings")
        {
            return new MoodStrandSources(HelixDataSource.Create(HelixConnectionString(helix, inner)), null, null);
        }

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

public sealed class EventRow
{
    public Guid Id { get; set; }

    public NodaTime.Instant At { get; set; }

    public NodaTime.LocalDate Day { get; set; }
}

public sealed class EventContext(DbContextOptions<EventContext> options) : DbContext(options)
{
    public DbSet<EventRow> Events => Set<EventRow>();
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

/// <summary>The Helix data source and the strands' data sources it was given, if any (which Helix does not dispose).</summary>
internal sealed record MoodStrandSources(HelixDataSource Helix, NpgsqlDataSource? Primary, NpgsqlDataSource? Secondary) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        await Helix.DisposeAsync();
        if (Primary is not null)
        {
            await Primary.DisposeAsync();
        }

        if (Secondary is not null)
        {
            await Secondary.DisposeAsync();
        }
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
