using MySqlConnector;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>
/// The two independent MariaDB servers of the MariaDB tests (this namespace), started once: from
/// <c>HELIX_TEST_MARIADB_PRIMARY</c> and <c>HELIX_TEST_MARIADB_SECONDARY</c> when given; containers when a Docker engine
/// answers; otherwise throwaway servers from the installed <c>mariadb-server</c> package (eng/test.sh installs it).
/// </summary>
[SetUpFixture]
public sealed class MariaDbServers
{
    private static MariaDbServer? _primary;
    private static MariaDbServer? _secondary;
    private static string? _failure;

    public static MariaDbServer Primary => _primary ?? throw Unavailable();

    public static MariaDbServer Secondary => _secondary ?? throw Unavailable();

    public static string Source { get; private set; } = "none";

    public static MariaDbServer Of(HelixStrand strand) => strand == HelixStrand.Primary ? Primary : Secondary;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        try
        {
            var primary = Environment.GetEnvironmentVariable("HELIX_TEST_MARIADB_PRIMARY");
            var secondary = Environment.GetEnvironmentVariable("HELIX_TEST_MARIADB_SECONDARY");
            if (!string.IsNullOrEmpty(primary) && !string.IsNullOrEmpty(secondary))
            {
                (_primary, _secondary, Source) = (new ExternalMariaDbServer("primary", primary), new ExternalMariaDbServer("secondary", secondary), "environment");
            }
            else if (await Support.ContainerPostgresServer.IsDockerAvailableAsync())
            {
                (_primary, _secondary, Source) = (await ContainerMariaDbServer.CreateAsync("primary"), await ContainerMariaDbServer.CreateAsync("secondary"), "Testcontainers");
            }
            else if (LocalMariaDbServer.FindBinaries() is { } binaries)
            {
                var servers = await Task.WhenAll(LocalMariaDbServer.CreateAsync("primary", binaries), LocalMariaDbServer.CreateAsync("secondary", binaries));
                (_primary, _secondary, Source) = (servers[0], servers[1], $"local {binaries.Server}");
            }
            else
            {
                _failure = "no MariaDB: HELIX_TEST_MARIADB_PRIMARY/SECONDARY are not set, no Docker engine answers, and no mariadbd/mariadb-install-db was found. Run eng/test.sh, which installs mariadb-server.";
            }
        }
#pragma warning disable CA1031 // reported by every test that needs the servers, with the reason
        catch (Exception e)
#pragma warning restore CA1031
        {
            _failure = "the MariaDB servers could not be started: " + e;
        }

        TestContext.Progress.WriteLine($"MariaDB servers: {Source}{(_failure is null ? string.Empty : " - " + _failure)}");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        MySqlConnection.ClearAllPools();
        foreach (var server in new[] { _primary, _secondary })
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>Creates a fresh database with the same name on both servers, for one test.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)].ToLowerInvariant();
        foreach (var server in new[] { Primary, Secondary })
        {
            await using var connection = new MySqlConnection(server.AdminConnectionString);
            await connection.OpenAsync();
            await using var command = new MySqlCommand($"CREATE DATABASE `{name}`", connection);
            await command.ExecuteNonQueryAsync();
        }

        return name;
    }

    public static void RequireFaultControl()
    {
        if (Primary.FaultsUnavailableReason is { } reason)
        {
            Assert.Ignore("Fault injection unavailable: " + reason);
        }
    }

    private static InvalidOperationException Unavailable() => new(_failure ?? "The MariaDB servers were not started.");
}
