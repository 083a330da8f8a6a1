using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using Helix.Data.Testing;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>
/// A MariaDB server in a container started by Testcontainers (the generic builder: no MariaDB module is among the
/// packages this project can use), used where a Docker engine answers and no local binaries are wanted.
/// </summary>
public sealed class ContainerMariaDbServer : MariaDbServer
{
    private readonly IContainer _container;
    private readonly int _port;

    private ContainerMariaDbServer(string name, IContainer container, int port)
        : base(name)
    {
        _container = container;
        _port = port;
    }

    public override string AdminConnectionString => $"Server=127.0.0.1;Port={_port};User ID=root;Password=helix;Connection Timeout=3;Default Command Timeout=10";

    public static async Task<ContainerMariaDbServer> CreateAsync(string name)
    {
        // A fixed host port, so that the server keeps its address when a test stops and starts the container.
        var port = Ports.FreeBelowEphemeral();
        var container = new ContainerBuilder("mariadb:10.11")
            .WithEnvironment("MARIADB_ROOT_PASSWORD", "helix")
            .WithPortBinding(port, 3306)
            .WithCommand("--innodb-lock-wait-timeout=2", "--max-connections=300")
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("ready for connections"))
            .Build();
        await container.StartAsync();
        return new ContainerMariaDbServer(name, container, port);
    }

    public override Task StartAsync() => _container.StartAsync();

    public override Task KillAsync() => _container.StopAsync();

    public override Task WaitUntilStoppedAsync() => _container.StopAsync();

    public override async Task EnsureRunningAsync()
    {
        if (_container.State != TestcontainersStates.Running)
        {
            await _container.StartAsync();
        }
    }

    public override ValueTask DisposeAsync() => _container.DisposeAsync();
}
