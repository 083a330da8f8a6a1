using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Helix.Data.Testing;
using Npgsql;

namespace Helix.Data.Benchmarks;

/// <summary>Servers the benchmarks need, started once per benchmark process and stopped when it ends.</summary>
public static class Servers
{
    private static readonly Lazy<string> Nats = new(StartNats);
    private static readonly Lazy<(string Primary, string Secondary)> Postgres = new(StartPostgres);

    /// <summary>The URL of a nats-server with JetStream.</summary>
    public static string NatsUrl => Nats.Value;

    /// <summary>
    /// Connection strings of one database on each of two PostgreSQL servers: <c>HELIX_BENCH_PG_PRIMARY</c> and
    /// <c>HELIX_BENCH_PG_SECONDARY</c> when given, otherwise two throwaway local servers (fsync off, as in the tests).
    /// </summary>
    public static (string Primary, string Secondary) PostgresDatabases => Postgres.Value;

    private static (string Primary, string Secondary) StartPostgres()
    {
        var primary = Environment.GetEnvironmentVariable("HELIX_BENCH_PG_PRIMARY");
        var secondary = Environment.GetEnvironmentVariable("HELIX_BENCH_PG_SECONDARY");
        if (!string.IsNullOrEmpty(primary) && !string.IsNullOrEmpty(secondary))
        {
            return (primary, secondary);
        }

        var binaries = LocalPostgresServer.FindBinaries()
            ?? throw new InvalidOperationException("PostgreSQL is not installed: apt-get install postgresql, or set HELIX_BENCH_PG_PRIMARY and HELIX_BENCH_PG_SECONDARY.");
        var servers = Task.WhenAll(LocalPostgresServer.CreateAsync("bench-a", binaries), LocalPostgresServer.CreateAsync("bench-b", binaries)).GetAwaiter().GetResult();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var server in servers)
            {
                server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        };
        foreach (var server in servers)
        {
            using var connection = new NpgsqlConnection(server.AdminConnectionString);
            connection.Open();
            using var command = new NpgsqlCommand("CREATE DATABASE bench", connection);
            command.ExecuteNonQuery();
        }

        return (servers[0].ConnectionString("bench"), servers[1].ConnectionString("bench"));
    }

    private static string StartNats()
    {
        if (Environment.GetEnvironmentVariable("HELIX_BENCH_NATS_URL") is { Length: > 0 } given)
        {
            return given;
        }

        var binary = new[] { "/usr/bin/nats-server", "/usr/sbin/nats-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nats-server is not installed: apt-get install nats-server, or set HELIX_BENCH_NATS_URL.");
        var port = Ports.FreeBelowEphemeral();
        var folder = Directory.CreateTempSubdirectory("helix-bench-nats-").FullName;
        var process = Process.Start(new ProcessStartInfo(binary, ["-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-js", "-sd", folder])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("nats-server did not start.");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            process.Kill();
            Directory.Delete(folder, recursive: true);
        };
        for (var attempt = 0; attempt < 300; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return $"nats://127.0.0.1:{port}";
            }
            catch (SocketException)
            {
                Thread.Sleep(20); // waiting for a server to listen, in a benchmark's setup
            }
        }

        throw new InvalidOperationException("nats-server did not start listening.");
    }
}
