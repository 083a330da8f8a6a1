using System.Diagnostics;
using System.Net.Sockets;
using Helix.Data.Testing;

namespace Helix.Data.IntegrationTests.Support;

/// <summary>
/// A nats-server with JetStream on 127.0.0.1, started once for the test run in a temporary folder and stopped at the
/// end: <c>HELIX_TEST_NATS_URL</c> names one instead when set.
/// </summary>
public static class NatsServer
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static Process? _process;
    private static string? _folder;
    private static string? _url;

    /// <summary>Gets the server's URL, starting it on first use.</summary>
    public static async Task<string> UrlAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _url ??= Environment.GetEnvironmentVariable("HELIX_TEST_NATS_URL") is { Length: > 0 } given ? given : await StartAsync();
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Stops the server if this run started it.</summary>
    public static void Stop()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process?.Dispose();
        if (_folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static async Task<string> StartAsync()
    {
        var binary = new[] { "/usr/bin/nats-server", "/usr/sbin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nats-server is not installed (looked in /usr/bin, /usr/sbin, /usr/local/bin). Run eng/test.sh, which installs the Debian package nats-server, or set HELIX_TEST_NATS_URL.");
        var port = Ports.FreeBelowEphemeral();
        _folder = Directory.CreateTempSubdirectory("helix-nats-").FullName;
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-js", "-sd", _folder })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("nats-server did not start.");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
        }

        if (_process.HasExited)
        {
            throw new InvalidOperationException($"nats-server exited with code {_process.ExitCode} at start.");
        }

        TestContext.Progress.WriteLine($"nats-server (JetStream) on 127.0.0.1:{port}");
        return $"nats://127.0.0.1:{port}";
    }
}
