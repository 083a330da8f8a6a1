using Helix.Data.IntegrationTests.Support;
using Helix.Data.Testing;
using Helix.Data.Tests.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary>
/// EF Core over strands an application gives as <see cref="NpgsqlDataSource"/>s (from its DI container, built with a
/// password, a password provider or type mappings): EF's own connection object must come from those data sources, since
/// their connection strings come back without the password.
/// </summary>
public class EfCorePostgresDataSourceTests : PostgresTestBase
{
    private const string Role = "helix_password_user";
    private const string Password = "s3cret-helix";

    [Test]
    public async Task A_context_works_over_strands_given_as_data_sources_to_servers_that_ask_for_a_password()
    {
        await RequirePasswordForRoleAsync();
        var (primaryString, secondaryString) = (WithPassword(PostgresServers.Primary), WithPassword(PostgresServers.Secondary));
        Assert.That(
            async () => { await using var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(primaryString) { Password = null, Pooling = false }.ConnectionString); await c.OpenAsync(); },
            Throws.InstanceOf<NpgsqlException>(),
            "the server must ask this role for its password, or the test shows nothing");

        await using var primary = NpgsqlDataSource.Create(primaryString);
        await using var secondary = NpgsqlDataSource.Create(secondaryString);
        // Asserted without printing the connection string, which would show the password if the check failed.
        Assert.That(primary.ConnectionString.Contains(Password, StringComparison.Ordinal), Is.False, "Npgsql gives a data source's connection string back without the password");
        await using var dataSource = new HelixDataSourceBuilder("Helix").UsePrimary(primary).UseSecondary(secondary).Build();

        await using (var context = Shop(dataSource))
        {
            var before = context.Database.GetDbConnection();
            await context.Database.EnsureCreatedAsync();
            Assert.That(context.Database.GetDbConnection(), Is.SameAs(before), "EF's connection object was the primary data source's from the start");
            context.Customers.Add(ShopData.Alice());
            await context.SaveChangesAsync();
        }

        await using (var context = Shop(dataSource))
        {
            await using var transaction = await context.Database.BeginTransactionAsync();
            (await context.Orders.FirstAsync()).Total += 1;
            await context.SaveChangesAsync();
            await transaction.CommitAsync();
            Assert.That(await context.Lines.CountAsync(), Is.EqualTo(3));
        }

        const string Orders = "SELECT \"Total\"::text FROM \"Orders\"";
        Assert.That(await RowsAsync(HelixStrand.Secondary, Orders), Is.EqualTo(await RowsAsync(HelixStrand.Primary, Orders)).And.Count.EqualTo(1));
    }

    [Test]
    public async Task EnsureCreated_and_EnsureDeleted_create_and_drop_the_database_on_both_servers_through_the_data_sources_password()
    {
        // EF's Npgsql provider creates and drops a database on an admin connection of its own; made from a strand's
        // connection string, which a data source gives back without the password, it could not log in.
        await RequirePasswordForRoleAsync();
        var name = Database + "_pw";
        await using var primary = NpgsqlDataSource.Create(WithPassword(PostgresServers.Primary, name));
        await using var secondary = NpgsqlDataSource.Create(WithPassword(PostgresServers.Secondary, name));
        await using var dataSource = new HelixDataSourceBuilder("Helix").UsePrimary(primary).UseSecondary(secondary).Build();
        await using (var context = Shop(dataSource))
        {
            Assert.That(await context.Database.EnsureCreatedAsync(), Is.True);
            context.Customers.Add(ShopData.Alice());
            await context.SaveChangesAsync();
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await PostgresServers.Primary.HasDatabaseAsync(name), Is.True, "created on the primary");
            Assert.That(await PostgresServers.Secondary.HasDatabaseAsync(name), Is.True, "created on the secondary");
        });

        await using (var context = Shop(dataSource))
        {
            Assert.That(await context.Database.EnsureDeletedAsync(), Is.True);
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await PostgresServers.Primary.HasDatabaseAsync(name), Is.False, "dropped on the primary");
            Assert.That(await PostgresServers.Secondary.HasDatabaseAsync(name), Is.False, "dropped on the secondary");
        });
    }

    /// <summary>A database on a server, as <see cref="Role"/> with its password.</summary>
    private static string WithPassword(PostgresServer server, string database) =>
        new NpgsqlConnectionStringBuilder(server.ConnectionString(database)) { Username = Role, Password = Password }.ConnectionString;

    /// <summary>The test's database on a server, as <see cref="Role"/> with its password.</summary>
    private string WithPassword(PostgresServer server) =>
        new NpgsqlConnectionStringBuilder(server.ConnectionString(Database)) { Username = Role, Password = Password }.ConnectionString;

    /// <summary>
    /// Makes both servers ask <see cref="Role"/> (and only it) for a password, and gives it the test's database: the
    /// servers the fixture starts trust every local connection otherwise.
    /// </summary>
    private async Task RequirePasswordForRoleAsync()
    {
        foreach (var server in new[] { PostgresServers.Primary, PostgresServers.Secondary })
        {
            if (server is not LocalPostgresServer)
            {
                Assert.Ignore("Needs the servers the fixture starts itself: the test edits their pg_hba.conf.");
            }

            await using var admin = new NpgsqlConnection(server.AdminConnectionString + ";Pooling=false");
            await admin.OpenAsync();
            await using (var command = new NpgsqlCommand($"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{Role}') THEN CREATE ROLE {Role} LOGIN PASSWORD '{Password}'; END IF; END $$; ALTER ROLE {Role} CREATEDB; ALTER DATABASE \"{Database}\" OWNER TO {Role};", admin))
            {
                await command.ExecuteNonQueryAsync();
            }

            await using (var command = new NpgsqlCommand("SHOW hba_file", admin))
            {
                var file = (string)(await command.ExecuteScalarAsync())!;
                var line = $"host all {Role} 127.0.0.1/32 scram-sha-256";
                var lines = await File.ReadAllLinesAsync(file);
                if (!lines.Contains(line))
                {
                    await File.WriteAllLinesAsync(file, [line, .. lines]);
                }
            }

            await using (var command = new NpgsqlCommand("SELECT pg_reload_conf()", admin))
            {
                await command.ExecuteScalarAsync();
            }
        }
    }

    private static ShopContext Shop(HelixDataSource dataSource) =>
        new(new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseNpgsql(primary)).Options);
}
