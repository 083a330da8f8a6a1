using MySqlConnector;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>One MariaDB (or MySQL) server used as a strand, and the faults a test can inject into it.</summary>
public abstract class MariaDbServer(string name) : IAsyncDisposable
{
    public string Name { get; } = name;

    /// <summary>Gets why faults cannot be injected, or <see langword="null"/> when they can.</summary>
    public virtual string? FaultsUnavailableReason => null;

    /// <summary>Gets the connection string of the server as its administrator, without a database.</summary>
    public abstract string AdminConnectionString { get; }

    /// <summary>The connection string of one database on this server.</summary>
    public string ConnectionString(string database) => new MySqlConnectionStringBuilder(AdminConnectionString) { Database = database }.ConnectionString;

    /// <summary>Starts the server (stopped or never started) and waits until it accepts connections.</summary>
    public abstract Task StartAsync();

    /// <summary>Stops the server at once, as a crash would, and waits until it is gone.</summary>
    public abstract Task KillAsync();

    /// <summary>Waits (bounded) until the server has stopped, after a test asked it to shut down.</summary>
    public abstract Task WaitUntilStoppedAsync();

    /// <summary>Returns the server to running, whatever a test did to it.</summary>
    public abstract Task EnsureRunningAsync();

    public abstract ValueTask DisposeAsync();
}

/// <summary>A server named by an environment variable: used as it is; faults cannot be injected into it.</summary>
public sealed class ExternalMariaDbServer(string name, string connectionString) : MariaDbServer(name)
{
    public override string? FaultsUnavailableReason => "the server was given by an environment variable";

    public override string AdminConnectionString => connectionString;

    public override Task StartAsync() => throw Refused();

    public override Task KillAsync() => throw Refused();

    public override Task WaitUntilStoppedAsync() => throw Refused();

    public override Task EnsureRunningAsync() => Task.CompletedTask;

    public override ValueTask DisposeAsync() => default;

    private InvalidOperationException Refused() => new($"MariaDB server {Name} was given by an environment variable; it cannot be stopped or started.");
}
