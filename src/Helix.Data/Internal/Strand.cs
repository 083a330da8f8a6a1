using System.Data.Common;

namespace Helix.Data.Internal;

/// <summary>One strand of a data source: its provider, its inner data source and its state.</summary>
internal sealed class Strand(HelixStrand id, string name, string providerName, DbProviderFactory factory, DbDataSource dataSource, bool ownsDataSource, StrandController controller)
{
    public HelixStrand Id { get; } = id;

    public int Index => (int)Id;

    public string Name { get; } = name;

    public string ProviderName { get; } = providerName;

    public DbProviderFactory Factory { get; } = factory;

    public DbDataSource DataSource { get; } = dataSource;

    public bool OwnsDataSource { get; } = ownsDataSource;

    public StrandController Controller { get; } = controller;

    public HelixStrandState State => Controller.State;

    /// <summary>Gets a value indicating whether the strand's provider supports <see cref="DbBatch"/>.</summary>
    public bool CanCreateBatch => _canCreateBatch ??= ProbeBatching();

    private bool? _canCreateBatch;

    private bool ProbeBatching()
    {
        using var connection = DataSource.CreateConnection();
        return connection.CanCreateBatch;
    }

    public bool IsHealthy => Controller.State == HelixStrandState.Healthy;

    /// <summary>A statement that succeeds on any reachable database of this provider and touches the database file or server.</summary>
    public string DefaultProbeCommandText => Factory.GetType().FullName switch
    {
        "Microsoft.Data.Sqlite.SqliteFactory" => "SELECT count(*) FROM sqlite_master",
        "Oracle.ManagedDataAccess.Client.OracleClientFactory" => "SELECT 1 FROM DUAL",
        _ => "SELECT 1",
    };

    public override string ToString() => Name;
}
