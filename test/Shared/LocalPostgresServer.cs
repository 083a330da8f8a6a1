using System.Diagnostics;
using System.Globalization;
using Helix.Data.Testing;

namespace Helix.Data.Testing;

/// <summary>
/// A throwaway PostgreSQL server made from the installed binaries: its own data directory under the temp folder, its
/// own port on 127.0.0.1 (below the ephemeral range), run as the <c>postgres</c> user when the tests run as root.
/// </summary>
public sealed class LocalPostgresServer : PostgresServer
{
    private readonly string _binaries;
    private readonly string _root;
    private readonly string _dataDirectory;
    private readonly int _port;
    private bool _hung;

    private LocalPostgresServer(string name, string binaries, string root, int port)
    {
        Name = name;
        _binaries = binaries;
        _root = root;
        _dataDirectory = Path.Combine(root, "data");
        _port = port;
    }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override string AdminConnectionString =>
        $"Host=127.0.0.1;Port={_port};Username=postgres;Database=postgres;Timeout=3;Command Timeout=10;Cancellation Timeout=1000";

    private static bool IsRoot => Environment.UserName == "root";

    /// <summary>Finds the PostgreSQL binaries, or says where it looked.</summary>
    public static string? FindBinaries()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("HELIX_TEST_PG_BIN") is { Length: > 0 } configured)
        {
            candidates.Add(configured);
        }

        if (Directory.Exists("/usr/lib/postgresql"))
        {
            candidates.AddRange(Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d, StringComparer.Ordinal).Select(d => Path.Combine(d, "bin")));
        }

        candidates.Add("/usr/local/bin");
        candidates.Add("/usr/bin");
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
    }

    public static async Task<LocalPostgresServer> CreateAsync(string name, string binaries)
    {
        var root = Path.Combine(Path.GetTempPath(), $"helix-pg-{name}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..48]);
        Directory.CreateDirectory(root);
        if (IsRoot)
        {
            await RunAsync("chown", ["postgres:postgres", root], asPostgres: false);
        }

        var server = new LocalPostgresServer(name, binaries, root, Ports.FreeBelowEphemeral());
        await server.RunPostgresToolAsync("initdb", ["-D", server._dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"]);
        await File.AppendAllTextAsync(Path.Combine(server._dataDirectory, "postgresql.conf"), string.Join('\n',
        [
            string.Empty,
            "listen_addresses = '127.0.0.1'",
            $"port = {server._port}",
            $"unix_socket_directories = '{root}'",
            "fsync = off", // the servers are throwaway; a process crash (what the tests inject) loses nothing that was committed
            "full_page_writes = off",
            "max_connections = 300",
            "shared_buffers = 32MB",
            "log_min_messages = warning",
            string.Empty,
        ]));
        await server.StartAsync();
        return server;
    }

    /// <inheritdoc />
    public override async Task KillAsync() =>
        await RunPostgresToolAsync("pg_ctl", ["stop", "-D", _dataDirectory, "-m", "immediate", "-w"]);

    /// <inheritdoc />
    public override async Task StartAsync() =>
        await RunPostgresToolAsync("pg_ctl", ["start", "-D", _dataDirectory, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60"]);

    /// <inheritdoc />
    public override async Task HangAsync()
    {
        await SignalAllAsync("STOP");
        _hung = true;
    }

    /// <inheritdoc />
    public override async Task ResumeAsync()
    {
        await SignalAllAsync("CONT");
        _hung = false;
    }

    /// <inheritdoc />
    public override async Task EnsureRunningAsync()
    {
        if (_hung)
        {
            await ResumeAsync();
        }

        if (PostmasterPid() is null)
        {
            await StartAsync();
        }
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        try
        {
            await EnsureRunningAsync();
            await RunPostgresToolAsync("pg_ctl", ["stop", "-D", _dataDirectory, "-m", "immediate", "-w"]);
        }
        catch (InvalidOperationException)
        {
            // already stopped
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private int? PostmasterPid()
    {
        var pidFile = Path.Combine(_dataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return null;
        }

        var pid = int.Parse(File.ReadLines(pidFile).First(), CultureInfo.InvariantCulture);
        return Directory.Exists($"/proc/{pid}") ? pid : null;
    }

    private async Task SignalAllAsync(string signal)
    {
        var postmaster = PostmasterPid() ?? throw new InvalidOperationException($"PostgreSQL server {Name} is not running.");
        var pids = new List<int> { postmaster };
        foreach (var directory in Directory.GetDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid))
            {
                try
                {
                    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after the last ')'.
                    var stat = await File.ReadAllTextAsync(Path.Combine(directory, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    if (int.Parse(fields[1], CultureInfo.InvariantCulture) == postmaster)
                    {
                        pids.Add(pid);
                    }
                }
                catch (IOException)
                {
                    // the process ended meanwhile
                }
            }
        }

        await RunAsync("kill", [$"-{signal}", .. pids.Select(p => p.ToString(CultureInfo.InvariantCulture))], asPostgres: false);
    }

    private Task RunPostgresToolAsync(string tool, string[] arguments) =>
        RunAsync(Path.Combine(_binaries, tool), arguments, asPostgres: IsRoot);

    private static async Task RunAsync(string program, string[] arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asPostgres)
        {
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add("postgres");
            start.ArgumentList.Add("--");
            start.ArgumentList.Add(program);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}{await output}");
        }
    }
}
