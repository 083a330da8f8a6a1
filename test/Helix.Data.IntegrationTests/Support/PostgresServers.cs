using Helix.Data.IntegrationTests.Support;
using Npgsql;

// In the root namespace of the tests: an NUnit SetUpFixture covers only its own namespace and those below.
namespace Helix.Data.IntegrationTests;

/// <summary>
/// The two independent PostgreSQL servers every integration test uses, started once for the test run:
/// connection strings from <c>HELIX_TEST_PG_PRIMARY</c> and <c>HELIX_TEST_PG_SECONDARY</c> when given; containers
/// when a Docker engine answers; otherwise throwaway servers from the installed PostgreSQL binaries.
/// </summary>
[SetUpFixture]
public sealed class PostgresServers
{
    private static PostgresServer? _primary;
    private static PostgresServer? _secondary;
    private static string? _failure;

    public static PostgresServer Primary => _primary ?? throw Unavailable();

    public static PostgresServer Secondary => _secondary ?? throw Unavailable();

    /// <summary>How the servers were provided, for the test log.</summary>
    public static string Source { get; private set; } = "none";

    public static PostgresServer Of(HelixStrand strand) => strand == HelixStrand.Primary ? Primary : Secondary;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        try
        {
            var primary = Environment.GetEnvironmentVariable("HELIX_TEST_PG_PRIMARY");
            var secondary = Environment.GetEnvironmentVariable("HELIX_TEST_PG_SECONDARY");
            if (!string.IsNullOrEmpty(primary) && !string.IsNullOrEmpty(secondary))
            {
                (_primary, _secondary, Source) = (new ExternalPostgresServer("primary", primary), new ExternalPostgresServer("secondary", secondary), "environment");
            }
            else if (await ContainerPostgresServer.IsDockerAvailableAsync())
            {
                (_primary, _secondary, Source) = (await ContainerPostgresServer.CreateAsync("primary"), await ContainerPostgresServer.CreateAsync("secondary"), "Testcontainers");
            }
            else if (LocalPostgresServer.FindBinaries() is { } binaries)
            {
                var servers = await Task.WhenAll(LocalPostgresServer.CreateAsync("primary", binaries), LocalPostgresServer.CreateAsync("secondary", binaries));
                (_primary, _secondary, Source) = (servers[0], servers[1], $"local binaries in {binaries}");
            }
            else
            {
                _failure = "no PostgreSQL: HELIX_TEST_PG_PRIMARY/SECONDARY are not set, no Docker engine answers, and no initdb/pg_ctl was found "
                    + "(looked in HELIX_TEST_PG_BIN, /usr/lib/postgresql/*/bin, /usr/local/bin, /usr/bin). Run eng/test.sh, which installs PostgreSQL.";
            }
        }
#pragma warning disable CA1031 // reported by every test that needs the servers, with the reason
        catch (Exception e)
#pragma warning restore CA1031
        {
            _failure = "the PostgreSQL servers could not be started: " + e;
        }

        TestContext.Progress.WriteLine($"PostgreSQL servers: {Source}{(_failure is null ? string.Empty : " - " + _failure)}");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        NatsServer.Stop();
        if (_primary is not null)
        {
            await _primary.DisposeAsync();
        }

        if (_secondary is not null)
        {
            await _secondary.DisposeAsync();
        }
    }

    /// <summary>Creates a fresh database with the same name on both servers, for one test.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)].ToLowerInvariant();
        foreach (var server in new[] { Primary, Secondary })
        {
            await using var connection = new NpgsqlConnection(server.AdminConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return name;
    }

    /// <summary>Fails the calling test when faults cannot be injected, saying why.</summary>
    public static void RequireFaultControl()
    {
        if (Primary.FaultsUnavailableReason is { } reason)
        {
            Assert.Ignore("Fault injection unavailable: " + reason);
        }
    }

    private static InvalidOperationException Unavailable() => new(_failure ?? "The PostgreSQL servers were not started.");
}
