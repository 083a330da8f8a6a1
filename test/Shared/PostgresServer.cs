namespace Helix.Data.Testing;

/// <summary>One PostgreSQL server used as a strand, and the faults a test can inject into it.</summary>
public abstract class PostgresServer : IAsyncDisposable
{
    /// <summary>Gets a name for messages.</summary>
    public abstract string Name { get; }

    /// <summary>Gets the connection string of the server's maintenance database (<c>postgres</c>).</summary>
    public abstract string AdminConnectionString { get; }

    /// <summary>Gets why faults cannot be injected into this server, or <see langword="null"/> when they can.</summary>
    public virtual string? FaultsUnavailableReason => null;

    /// <summary>Stops the server at once, as a crash would (<c>pg_ctl stop -m immediate</c>).</summary>
    public abstract Task KillAsync();

    /// <summary>Starts a stopped server and waits until it accepts connections.</summary>
    public abstract Task StartAsync();

    /// <summary>Freezes every process of the server (SIGSTOP): connections hang instead of failing.</summary>
    public abstract Task HangAsync();

    /// <summary>Lets a frozen server run again (SIGCONT).</summary>
    public abstract Task ResumeAsync();

    /// <summary>Returns the server to running, whatever a test did to it.</summary>
    public abstract Task EnsureRunningAsync();

    /// <summary>The connection string of one database on this server.</summary>
    public string ConnectionString(string database) =>
        new Npgsql.NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = database }.ConnectionString;

    /// <summary>Whether the server has a database of that name.</summary>
    public async Task<bool> HasDatabaseAsync(string database)
    {
        await using var connection = new Npgsql.NpgsqlConnection(AdminConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = @name", connection);
        command.Parameters.AddWithValue("name", database);
        return (long)(await command.ExecuteScalarAsync())! == 1;
    }

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();
}
