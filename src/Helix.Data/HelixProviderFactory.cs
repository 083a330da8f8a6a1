using System.Data.Common;

namespace Helix.Data;

/// <summary>
/// The ADO.NET provider factory of Helix.Data. Register it once with
/// <c>DbProviderFactories.RegisterFactory(HelixProviderFactory.InvariantName, HelixProviderFactory.Instance)</c> for code
/// that looks providers up by name.
/// </summary>
public sealed class HelixProviderFactory : DbProviderFactory
{
    /// <summary>The invariant name of the provider: <c>Helix.Data</c>.</summary>
    public const string InvariantName = "Helix.Data";

    /// <summary>The factory instance.</summary>
    public static readonly HelixProviderFactory Instance = new();

    private HelixProviderFactory()
    {
    }

    /// <inheritdoc />
    public override bool CanCreateDataSourceEnumerator => false;

    /// <summary>Creates a connection without a connection string.</summary>
    /// <returns>A new <see cref="HelixConnection"/>.</returns>
    public override DbConnection CreateConnection() => new HelixConnection();

    /// <summary>Creates a command.</summary>
    /// <returns>A new <see cref="HelixCommand"/>.</returns>
    public override DbCommand CreateCommand() => new HelixCommand();

    /// <summary>
    /// Creates a provider-neutral <see cref="HelixParameter"/>: the factory cannot know the provider of the connection it
    /// will be used with. <see cref="HelixCommand.CreateParameter"/> returns the primary provider's own parameter type.
    /// </summary>
    /// <returns>A new <see cref="HelixParameter"/>.</returns>
    public override DbParameter CreateParameter() => new HelixParameter();

    /// <summary>Creates a connection-string builder.</summary>
    /// <returns>A new <see cref="HelixConnectionStringBuilder"/>.</returns>
    public override DbConnectionStringBuilder CreateConnectionStringBuilder() => new HelixConnectionStringBuilder();

    /// <inheritdoc />
    public override bool CanCreateDataAdapter => true;

    /// <inheritdoc />
    public override bool CanCreateCommandBuilder => true;

    /// <inheritdoc />
    public override bool CanCreateBatch => true;

    /// <summary>Creates a data adapter over Helix commands.</summary>
    /// <returns>A new <see cref="HelixDataAdapter"/>.</returns>
    public override DbDataAdapter CreateDataAdapter() => new HelixDataAdapter();

    /// <summary>Creates a command builder for a <see cref="HelixDataAdapter"/>.</summary>
    /// <returns>A new <see cref="HelixCommandBuilder"/>.</returns>
    public override DbCommandBuilder CreateCommandBuilder() => new HelixCommandBuilder();

    /// <summary>Creates a batch; it runs only on connections whose strands' providers batch.</summary>
    /// <returns>A new <see cref="HelixBatch"/>.</returns>
    public override DbBatch CreateBatch() => new HelixBatch();

    /// <summary>Creates a batch command.</summary>
    /// <returns>A new <see cref="HelixBatchCommand"/>.</returns>
    public override DbBatchCommand CreateBatchCommand() => new HelixBatchCommand();

    /// <summary>Creates a new data source (not the one shared by connections with the same string).</summary>
    /// <param name="connectionString">A Helix connection string.</param>
    /// <returns>A new <see cref="HelixDataSource"/>; the caller disposes it.</returns>
    public override DbDataSource CreateDataSource(string connectionString) => HelixDataSource.Create(connectionString);
}
