using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Helix.Data.Testing;

namespace Helix.Data.Benchmarks;

/// <summary>Servers the benchmarks need, started once per benchmark process and stopped when it ends.</summary>
public static class Servers
{
    private static readonly Lazy<string> Nats = new(StartNats);

    /// <summary>The URL of a nats-server with JetStream.</summary>
    public static string NatsUrl => Nats.Value;

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
