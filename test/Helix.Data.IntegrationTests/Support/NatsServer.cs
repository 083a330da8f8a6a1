using System.Diagnostics;
using System.Net.Sockets;
using Helix.Data.Testing;

namespace Helix.Data.IntegrationTests.Support;

/// <summary>
/// A nats-server with JetStream on 127.0.0.1, started once for the test run in a temporary folder and stopped at the
/// end: <c>HELIX_TEST_NATS_URL</c> names one instead when set. Tests that stop a server start one of their own
/// (<see cref="NatsServerProcess"/>).
/// </summary>
public static class NatsServer
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static NatsServerProcess? _shared;
    private static string? _url;

    /// <summary>Gets the server's URL, starting it on first use.</summary>
    public static async Task<string> UrlAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_url is null && Environment.GetEnvironmentVariable("HELIX_TEST_NATS_URL") is { Length: > 0 } given)
            {
                _url = given;
            }

            if (_url is null)
            {
                _shared = await NatsServerProcess.StartAsync();
                _url = _shared.Url;
            }

            return _url;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Stops the server if this run started it.</summary>
    public static void Stop() => _shared?.Dispose();
}

/// <summary>A nats-server process of the test's own, on a port below the ephemeral range, that can be stopped and started again.</summary>
public sealed class NatsServerProcess : IDisposable
{
    private readonly string _binary;
    private readonly string _folder;
    private readonly int _port;
    private Process? _process;

    private NatsServerProcess(string binary, string folder, int port)
    {
        _binary = binary;
        _folder = folder;
        _port = port;
    }

    /// <summary>Gets the server's URL.</summary>
    public string Url => $"nats://127.0.0.1:{_port}";

    /// <summary>Starts a server with JetStream in a fresh temporary folder.</summary>
    public static async Task<NatsServerProcess> StartAsync()
    {
        var binary = new[] { "/usr/bin/nats-server", "/usr/sbin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nats-server is not installed (looked in /usr/bin, /usr/sbin, /usr/local/bin). Run eng/test.sh, which installs the Debian package nats-server, or set HELIX_TEST_NATS_URL.");
        var server = new NatsServerProcess(binary, Directory.CreateTempSubdirectory("helix-nats-").FullName, Ports.FreeBelowEphemeral());
        await server.StartAgainAsync();
        TestContext.Progress.WriteLine($"nats-server (JetStream) on {server.Url}");
        return server;
    }

    /// <summary>Starts the server again on the same port and folder, with the streams it had.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "-a", "127.0.0.1", "-p", _port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-js", "-sd", _folder })
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
                await client.ConnectAsync("127.0.0.1", _port);
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
    }

    /// <summary>Stops the server at once, as a crash would (its folder stays, for <see cref="StartAgainAsync"/>).</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process?.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        Kill();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
