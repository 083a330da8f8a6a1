using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using MySqlConnector;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>
/// A throwaway <c>mariadbd</c> made from the installed Debian package: its own data directory from
/// <c>mariadb-install-db</c>, its own port on 127.0.0.1 below the ephemeral range, run with <c>--user=mysql</c> when the
/// tests run as root.
/// </summary>
public sealed class LocalMariaDbServer : MariaDbServer
{
    private readonly string _root;
    private readonly int _port;
    private Process? _process;

    private LocalMariaDbServer(string name, string root, int port)
        : base(name)
    {
        _root = root;
        _port = port;
    }

    /// <inheritdoc />
    public override string AdminConnectionString => $"Server=127.0.0.1;Port={_port};User ID=root;Connection Timeout=3;Default Command Timeout=10";

    /// <summary>The <c>mariadbd</c> and <c>mariadb-install-db</c> of the installed package, or <see langword="null"/>.</summary>
    public static (string Server, string Install)? FindBinaries()
    {
        string[] servers = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd", "/usr/local/bin/mariadbd"];
        string[] installers = ["/usr/bin/mariadb-install-db", "/usr/local/bin/mariadb-install-db", "/usr/scripts/mariadb-install-db"];
        var server = servers.FirstOrDefault(File.Exists);
        var install = installers.FirstOrDefault(File.Exists);
        return server is null || install is null ? null : (server, install);
    }

    public static async Task<LocalMariaDbServer> CreateAsync(string name, (string Server, string Install) binaries)
    {
        var root = Path.Combine(Path.GetTempPath(), $"helix-maria-{name}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..50]);
        Directory.CreateDirectory(root);
        if (IsRoot)
        {
            await RunAsync("chown", ["mysql:mysql", root]);
        }

        var server = new LocalMariaDbServer(name, root, Testing.Ports.FreeBelowEphemeral()) { Binaries = binaries };
        string[] install = ["--no-defaults", $"--datadir={server.DataDirectory}", $"--tmpdir={root}", "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"];
        await RunAsync(binaries.Install, IsRoot ? ["--user=mysql", .. install] : install);
        await server.StartAsync();
        return server;
    }

    private static bool IsRoot => Environment.UserName == "root";

    private (string Server, string Install) Binaries { get; init; }

    private string DataDirectory => Path.Combine(_root, "data");

    /// <inheritdoc />
    public override async Task StartAsync()
    {
        var start = new ProcessStartInfo(Binaries.Server)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _root,
        };
        foreach (var argument in (string[])
        [
            "--no-defaults", $"--datadir={DataDirectory}", $"--tmpdir={_root}", $"--port={_port}", "--bind-address=127.0.0.1",
            $"--socket={Path.Combine(_root, "mysqld.sock")}", $"--pid-file={Path.Combine(_root, "mysqld.pid")}",
            $"--log-error={Path.Combine(_root, "server.log")}", "--skip-name-resolve", "--skip-log-bin",
            "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M", "--max-connections=300",

            // throwaway servers: a crash (what the tests inject) must not lose a commit, but nothing needs to reach the disk
            "--innodb-flush-log-at-trx-commit=2", "--innodb-doublewrite=0",
            "--innodb-lock-wait-timeout=2",
        ])
        {
            start.ArgumentList.Add(argument);
        }

        if (IsRoot)
        {
            start.ArgumentList.Add("--user=mysql");
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"mariadbd of {Name} did not start.");
        _ = _process.StandardOutput.ReadToEndAsync(); // the server writes to its log file; these stay empty
        _ = _process.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await AcceptsAsync())
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                var log = Path.Combine(_root, "server.log");
                throw new InvalidOperationException($"MariaDB server {Name} did not start on port {_port}: {(File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(10)) : "no log")}");
            }

            await Task.Delay(50); // polling the port, bounded by the deadline above
        }
    }

    /// <inheritdoc />
    public override async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <inheritdoc />
    public override async Task WaitUntilStoppedAsync()
    {
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process!.WaitForExitAsync(bounded.Token);
    }

    /// <inheritdoc />
    public override async Task EnsureRunningAsync()
    {
        if (_process is { HasExited: false } process && !await AcceptsAsync())
        {
            // Shutting down (a test asked it to): let it finish, then start it again.
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(exited.Token);
        }

        if (_process is not { HasExited: false })
        {
            await StartAsync();
        }
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task<bool> AcceptsAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", _port);
            await using var connection = new MySqlConnection(AdminConnectionString + ";Pooling=false");
            await connection.OpenAsync();
            return true;
        }
        catch (Exception e) when (e is SocketException or MySqlException)
        {
            return false;
        }
    }

    private static async Task RunAsync(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode.ToString(CultureInfo.InvariantCulture)}: {await error}{await output}");
        }
    }
}
