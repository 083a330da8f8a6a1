namespace Helix.Data.IntegrationTests.Support;

/// <summary>A server the environment provides (<c>HELIX_TEST_PG_PRIMARY</c> / <c>HELIX_TEST_PG_SECONDARY</c>): tests may use it, not break it.</summary>
public sealed class ExternalPostgresServer(string name, string connectionString) : PostgresServer
{
    /// <inheritdoc />
    public override string Name { get; } = name;

    /// <inheritdoc />
    public override string AdminConnectionString { get; } = connectionString;

    /// <inheritdoc />
    public override string FaultsUnavailableReason =>
        "the PostgreSQL servers come from HELIX_TEST_PG_PRIMARY/HELIX_TEST_PG_SECONDARY, and a test cannot stop or freeze a server it does not own; unset them to let the fixture start its own";

    /// <inheritdoc />
    public override Task KillAsync() => throw new NotSupportedException(FaultsUnavailableReason);

    /// <inheritdoc />
    public override Task StartAsync() => throw new NotSupportedException(FaultsUnavailableReason);

    /// <inheritdoc />
    public override Task HangAsync() => throw new NotSupportedException(FaultsUnavailableReason);

    /// <inheritdoc />
    public override Task ResumeAsync() => throw new NotSupportedException(FaultsUnavailableReason);

    /// <inheritdoc />
    public override Task EnsureRunningAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => default;
}
