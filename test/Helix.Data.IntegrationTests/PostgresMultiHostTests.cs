using Dapper;
using Helix.Data.IntegrationTests.Support;
using Npgsql;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// A strand that is itself several hosts (docs/postgresql.md, "Multi-host strands"): Npgsql fails over between the
/// strand's hosts, and Helix sees one healthy strand. The first host of the primary strand is down (nothing listens on
/// its port) for every test here.
/// </summary>
public class PostgresMultiHostTests : PostgresTestBase
{
    private const string Upsert = "INSERT INTO items (id, name) VALUES (@id, @name) ON CONFLICT (id) DO UPDATE SET name = excluded.name";

    [SetUp]
    public Task CreateSchemaAsync() => ExecuteOnBothAsync("CREATE TABLE items (id uuid PRIMARY KEY, name text NOT NULL)");

    [Test]
    public async Task A_multi_host_connection_string_whose_first_host_is_down_keeps_the_strand_healthy()
    {
        var primary = MultiHost(PostgresServers.Primary.ConnectionString(Database)) + ";Target Session Attributes=read-write";
        await using var dataSource = HelixDataSource.Create(
            $"Helix;Primary=\"{primary}\";Secondary=\"{PostgresServers.Secondary.ConnectionString(Database)}\";Preferred Strand=Primary");
        await WriteAndReadAsync(dataSource);
    }

    [Test]
    public async Task An_NpgsqlMultiHostDataSource_given_to_the_builder_keeps_the_strand_healthy()
    {
        await using var multiHost = new NpgsqlDataSourceBuilder(MultiHost(PostgresServers.Primary.ConnectionString(Database))).BuildMultiHost();
        await using var primary = multiHost.WithTargetSession(TargetSessionAttributes.ReadWrite);
        await using var dataSource = new HelixDataSourceBuilder($"Helix;Secondary=\"{PostgresServers.Secondary.ConnectionString(Database)}\";Preferred Strand=Primary")
            .UsePrimary(primary)
            .Build();
        await WriteAndReadAsync(dataSource);
    }

    /// <summary>The server's own host and port, after a host of the same name whose port nothing listens on.</summary>
    private static string MultiHost(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var dead = Testing.Ports.FreeBelowEphemeral();
        builder.Host = $"{builder.Host}:{dead},{builder.Host}:{builder.Port}";
        return builder.ConnectionString;
    }

    private async Task WriteAndReadAsync(HelixDataSource dataSource)
    {
        var ids = Enumerable.Range(0, 20).Select(_ => Guid.CreateVersion7()).ToList();
        foreach (var id in ids)
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await connection.ExecuteAsync(Upsert, new { id, name = "multi-host" });
            Assert.That(await connection.ExecuteScalarAsync<string>("SELECT name FROM items WHERE id = @id", new { id }), Is.EqualTo("multi-host"));
        }

        var status = dataSource.GetStatus();
        Assert.Multiple(async () =>
        {
            Assert.That(status[HelixStrand.Primary].State, Is.EqualTo(HelixStrandState.Healthy), status[HelixStrand.Primary].LastError);
            Assert.That(status[HelixStrand.Primary].LastError, Is.Null, "the down host never reached Helix: Npgsql went to the next one");
            Assert.That(status.ReplayApplied, Is.Zero, "nothing to replay");
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT count(*) FROM items"), Is.EqualTo(new[] { "20" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT count(*) FROM items"), Is.EqualTo(new[] { "20" }));
        });
    }
}
