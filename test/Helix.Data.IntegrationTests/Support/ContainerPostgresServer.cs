using System.Net;
using System.Net.Sockets;
using System.Text;
using Helix.Data.Testing;
using Testcontainers.PostgreSql;

namespace Helix.Data.IntegrationTests.Support;

/// <summary>A PostgreSQL server in a container started by Testcontainers, used where a Docker engine is reachable.</summary>
public sealed class ContainerPostgresServer : PostgresServer
{
    private readonly PostgreSqlContainer _container;
    private readonly int _port;

    private ContainerPostgresServer(string name, PostgreSqlContainer container, int port)
    {
        Name = name;
        _container = container;
        _port = port;
    }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override string AdminConnectionString =>
        $"Host=127.0.0.1;Port={_port};Username=postgres;Password=postgres;Database=postgres;Timeout=3;Command Timeout=10;Cancellation Timeout=1000";

    /// <summary>Whether a Docker engine answers a ping (on <c>DOCKER_HOST</c> or the default socket) within a few seconds.</summary>
    public static async Task<bool> IsDockerAvailableAsync()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } configured ? configured : "unix:///var/run/docker.sock";
        try
        {
            var uri = new Uri(host);
            EndPoint endpoint = uri.Scheme == "unix" ? new UnixDomainSocketEndPoint(uri.AbsolutePath) : new DnsEndPoint(uri.Host, uri.Port);
            if (endpoint is UnixDomainSocketEndPoint && !File.Exists(uri.AbsolutePath))
            {
                return false;
            }

            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, endpoint is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await socket.ConnectAsync(endpoint, timeout.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"), timeout.Token);
            var buffer = new byte[512];
            var read = await socket.ReceiveAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).Contains(" 200 ", StringComparison.Ordinal);
        }
#pragma warning disable CA1031 // any failure means: no engine here
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }

    public static async Task<ContainerPostgresServer> CreateAsync(string name)
    {
        // A fixed host port, so that the server keeps its address when a test stops and starts the container.
        var port = Ports.FreeBelowEphemeral();
        var container = new PostgreSqlBuilder("postgres:15-alpine")
            .WithUsername("postgres")
            .WithPassword("postgres")
            .WithPortBinding(port, 5432)
            .WithCommand("-c", "fsync=off", "-c", "max_connections=300")
            .Build();
        await container.StartAsync();
        return new ContainerPostgresServer(name, container, port);
    }

    /// <inheritdoc />
    public override Task KillAsync() => _container.StopAsync();

    /// <inheritdoc />
    public override Task StartAsync() => _container.StartAsync();

    /// <inheritdoc />
    public override Task HangAsync() => _container.PauseAsync();

    /// <inheritdoc />
    public override Task ResumeAsync() => _container.UnpauseAsync();

    /// <inheritdoc />
    public override async Task EnsureRunningAsync()
    {
        switch (_container.State)
        {
            case DotNet.Testcontainers.Containers.TestcontainersStates.Paused:
                await _container.UnpauseAsync();
                break;
            case not DotNet.Testcontainers.Containers.TestcontainersStates.Running:
                await _container.StartAsync();
                break;
        }
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => _container.DisposeAsync();
}
