using System.Data.Common;
using System.Runtime.CompilerServices;

namespace Helix.Data.Internal;

/// <summary>One strand of a data source: its provider, its inner data source and its state.</summary>
internal sealed class Strand(HelixStrand id, string name, string providerName, DbProviderFactory factory, DbDataSource dataSource, bool ownsDataSource, StrandController controller, string dataSourceName)
{
    /// <summary>Gets the tags of measurements about this strand: its name and its data source's.</summary>
    public KeyValuePair<string, object?>[] MetricTags { get; } = HelixMetrics.TagsFor(dataSourceName, name);

    /// <summary>Gets the tags of measurements about reads on this strand.</summary>
    public KeyValuePair<string, object?>[] ReadTags { get; } = HelixMetrics.With(HelixMetrics.TagsFor(dataSourceName, name), HelixActivities.OperationTag, "read");

    /// <summary>Gets the tags of measurements about writes on this strand.</summary>
    public KeyValuePair<string, object?>[] WriteTags { get; } = HelixMetrics.With(HelixMetrics.TagsFor(dataSourceName, name), HelixActivities.OperationTag, "write");

    public HelixStrand Id { get; } = id;

    public int Index => (int)Id;

    public string Name { get; } = name;

    public string ProviderName { get; } = providerName;

    public DbProviderFactory Factory { get; } = factory;

    public DbDataSource DataSource { get; } = dataSource;

    /// <summary>
    /// Gets the strand's own connection string, as Helix built its data source from it (secrets included: never log it),
    /// or the given data source's (which a provider may have stripped of its password). Another layer that must open a
    /// connection of its own to the strand (EF Core's) uses it.
    /// </summary>
    public string ConnectionString { get; init; } = string.Empty;

    public bool OwnsDataSource { get; } = ownsDataSource;

    public StrandController Controller { get; } = controller;

    /// <summary>Gets the application's Polly pipeline around the statements this strand runs (<c>UseStrandPipeline</c>), if any.</summary>
    public Polly.ResiliencePipeline? Pipeline { get; init; }

    public HelixStrandState State => Controller.State;

    /// <summary>Gets a value indicating whether the strand's provider supports <see cref="DbBatch"/> (asked of a new connection object, once).</summary>
    public bool CanCreateBatch => _provider.Value.CanCreateBatch;

    /// <summary>Gets the defaults a new command of this provider has, so that Helix commands report the same.</summary>
    public (int CommandTimeout, System.Data.UpdateRowSource UpdatedRowSource) CommandDefaults => _provider.Value.CommandDefaults;

    /// <summary>
    /// Gets a value indicating whether the strand's connections enlist themselves in an ambient System.Transactions
    /// transaction as they open (<see cref="AmbientTransactions.Enlist"/>).
    /// </summary>
    public bool EnlistsInAmbientTransactions => _provider.Value.Enlists;

    // What a new connection and command object of the provider say of it: made once, by one thread, without I/O.
    private readonly Lazy<(bool CanCreateBatch, (int, System.Data.UpdateRowSource) CommandDefaults, bool Enlists)> _provider = new(() =>
    {
        using var connection = dataSource.CreateConnection();
        using var command = connection.CreateCommand();
        return (connection.CanCreateBatch, (command.CommandTimeout, command.UpdatedRowSource), AmbientTransactions.Enlist(connection, dataSource.ConnectionString));
    });

    /// <summary>
    /// Whether this provider's transactions still report their connection once completed (Npgsql) or not (SQLite), for a
    /// Helix transaction that completes without having touched any strand. Learnt from the strand's real transactions;
    /// until one has completed, asked of the provider once by opening a connection and committing an empty transaction.
    /// </summary>
    public bool ProbeTransactionKeepsConnection()
    {
        if (Volatile.Read(ref _transactionKeepsConnection) is var known and not 0)
        {
            return known > 0;
        }

        using var outside = AmbientTransactions.Outside(); // a probe of its own, never part of a caller's TransactionScope
        using var connection = DataSource.CreateConnection();
        connection.Open();
        using var transaction = connection.BeginTransaction();
        transaction.Commit();
        NoteTransactionCompleted(transaction);
        return transaction.Connection is not null;
    }

    /// <summary>A transaction of this strand completed: remembers whether it still reports its connection.</summary>
    public void NoteTransactionCompleted(DbTransaction completed) => Volatile.Write(ref _transactionKeepsConnection, completed.Connection is not null ? 1 : -1);

    // 0 until learnt, then 1 (completed transactions keep their connection) or -1.
    private int _transactionKeepsConnection;

    /// <summary>
    /// Whether a command this provider's connection creates while a transaction is open on it starts in that transaction
    /// (SQLite's do; Npgsql's do not, and Npgsql runs them in it anyway). Learnt once, from <paramref name="inTransaction"/>,
    /// an open inner connection with a transaction begun on it: making a command does no I/O.
    /// </summary>
    public bool NewCommandsJoinTransaction(DbConnection inTransaction)
    {
        if (Volatile.Read(ref _newCommandsJoin) is var known and not 0)
        {
            return known > 0;
        }

        using var probe = inTransaction.CreateCommand();
        var joins = probe.Transaction is not null;
        Volatile.Write(ref _newCommandsJoin, joins ? 1 : -1);
        return joins;
    }

    // 0 until learnt, then 1 (new commands join) or -1.
    private int _newCommandsJoin;

    /// <summary>
    /// Whether this provider throws <see cref="ObjectDisposedException"/> (Npgsql) rather than a plain
    /// <see cref="InvalidOperationException"/> (SQLite) when a disposed transaction is committed: asked of the provider
    /// once, on a connection of its own, the first time a disposed Helix transaction is misused; a strand that cannot be
    /// reached then answers <see langword="true"/>, which satisfies callers of either (the first derives from the second).
    /// </summary>
    public bool DisposedTransactionThrowsObjectDisposed()
    {
        if (Volatile.Read(ref _disposedTransactionError) is var known and not 0)
        {
            return known > 0;
        }

        DbTransaction transaction;
        try
        {
            using var outside = AmbientTransactions.Outside();
            using var connection = DataSource.CreateConnection();
            connection.Open();
            transaction = connection.BeginTransaction();
            transaction.Dispose();
        }
#pragma warning disable CA1031 // the strand is not reachable now: answer without remembering
        catch (Exception)
#pragma warning restore CA1031
        {
            return true;
        }

        bool objectDisposed;
        try
        {
            transaction.Commit();
            objectDisposed = false;
        }
        catch (ObjectDisposedException)
        {
            objectDisposed = true;
        }
#pragma warning disable CA1031 // any other error is the provider's plain refusal
        catch (Exception)
#pragma warning restore CA1031
        {
            objectDisposed = false;
        }

        Volatile.Write(ref _disposedTransactionError, objectDisposed ? 1 : -1);
        return objectDisposed;
    }

    // 0 until learnt, then 1 (ObjectDisposedException) or -1.
    private int _disposedTransactionError;


    /// <summary>
    /// Gets or sets whether this strand's last asynchronous write completed before its method returned (a provider such
    /// as Microsoft.Data.Sqlite whose asynchronous methods run synchronously), so that a concurrent write offers the other
    /// strand to the thread pool instead of running the two in turn.
    /// </summary>
    public bool AsyncCompletesInline { get; set; }

    // How long this strand's direct writes take lately, in ticks of TimeSpan: a moving average, -1 until one is seen.
    private long _writeTicks = -1;

    /// <summary>A direct write succeeded on the strand in <paramref name="elapsed"/>: folds it into the recent write time.</summary>
    public void NoteWrite(TimeSpan elapsed)
    {
        // Racing writers may lose an update to each other; the figure stays a fair recent average all the same.
        var seen = Volatile.Read(ref _writeTicks);
        Volatile.Write(ref _writeTicks, seen < 0 ? elapsed.Ticks : seen + ((elapsed.Ticks - seen) / 4));
    }

    /// <summary>
    /// Gets whether the strand's recent writes take at least <paramref name="threshold"/>; <see langword="true"/> until a
    /// write has been seen (a strand is assumed slow until shown fast).
    /// </summary>
    public bool WritesTakeAtLeast(TimeSpan threshold)
    {
        var ticks = Volatile.Read(ref _writeTicks);
        return ticks < 0 || ticks >= threshold.Ticks;
    }

    // Inner connection objects that Helix connections closed, for later ones to open again instead of making new ones.
    private readonly SlotPool<DbConnection> _closedConnections = new(SlotPool<DbConnection>.DefaultSize);
    private volatile bool _retired;

    /// <summary>
    /// Gets whether closed inner connections are kept to be opened again: when the strand's data source is the provider's
    /// own (made by Helix from the connection string, or of the provider's assembly, as <c>NpgsqlDataSource</c> is), not
    /// one an application wrote, which may set up each connection it makes (an access token, say) and must then be asked
    /// for one at every open.
    /// </summary>
    public bool KeepsConnections { get; } = ownsDataSource || IsProvidersOwn(dataSource, factory);

    private static bool IsProvidersOwn(DbDataSource dataSource, DbProviderFactory factory)
    {
        var assembly = dataSource.GetType().Assembly;
        return assembly == factory.GetType().Assembly || assembly == typeof(DbDataSource).Assembly; // or DbProviderFactory.CreateDataSource's
    }

    /// <summary>
    /// Gets an inner connection object to open: one a Helix connection closed and nobody else saw, or a new one from the
    /// strand's data source. It saves making an object per open (with a finalizer, as every ADO.NET connection has, and
    /// a connection string to look up); the provider's own pool still serves the physical connection.
    /// </summary>
    public DbConnection CreateConnection() => SetUp((KeepsConnections ? _closedConnections.Rent() : null) ?? NewConnection());

    // The data source a layer above asked this strand's connection objects to come from, and the objects made from it.
    private volatile DbDataSource? _connectionSource;
    private readonly ConditionalWeakTable<DbConnection, object> _madeFromSource = [];

    /// <summary>
    /// Gets the data source this strand's connection objects come from: <see cref="DataSource"/>, or the one a layer above
    /// asked for (<see cref="UseConnectionSource"/>).
    /// </summary>
    public DbDataSource ConnectionSource => _connectionSource ?? DataSource;

    /// <summary>
    /// Asks that every connection object Helix makes for this strand from now on (its connections' and its replay
    /// worker's) come from <paramref name="source"/>, a data source for the strand's own connection string with more set
    /// up: EF Core's Npgsql provider builds one with the type mappings and plugins of a context's options (enums,
    /// NodaTime, pgvector), which commands of that context need on every strand. Kept objects of the strand's own data
    /// source are dropped, and those in use are not kept once closed. The first source asked for stays.
    /// </summary>
    /// <returns>Whether <paramref name="source"/> is now the strand's.</returns>
    public bool UseConnectionSource(DbDataSource source)
    {
        if (Interlocked.CompareExchange(ref _connectionSource, source, null) is not null)
        {
            return ReferenceEquals(_connectionSource, source);
        }

        while (_closedConnections.Rent() is { } closed)
        {
            closed.Dispose();
        }

        return true;
    }

    private DbConnection NewConnection()
    {
        if (_connectionSource is not { } source)
        {
            return DataSource.CreateConnection();
        }

        var connection = source.CreateConnection();
        _madeFromSource.AddOrUpdate(connection, SetUpMark);
        return connection;
    }

    // What a layer above asks to be done once to every connection object Helix makes for this strand, and the objects done.
    private volatile Action<DbConnection>? _connectionSetup;
    private readonly ConditionalWeakTable<DbConnection, object> _setUpConnections = [];

    /// <summary>
    /// Asks that every connection object Helix uses for this strand from now on (its connections' and its replay
    /// worker's) be set up once by <paramref name="setup"/>, open or closed: EF Core's SQLite provider registers the
    /// functions its SQL calls (<c>ef_compare</c>, <c>regexp</c>...) on each connection it makes, and its commands run on
    /// Helix's. The first setup asked for stays.
    /// </summary>
    public void UseConnectionSetup(Action<DbConnection> setup) => Interlocked.CompareExchange(ref _connectionSetup, setup, null);

    /// <summary>Sets a connection object up as <see cref="UseConnectionSetup"/> asked, unless it was already; returns it.</summary>
    public DbConnection SetUp(DbConnection connection)
    {
        if (_connectionSetup is { } setup && !_setUpConnections.TryGetValue(connection, out _))
        {
            setup(connection);
            _setUpConnections.AddOrUpdate(connection, SetUpMark);
        }

        return connection;
    }

    private static readonly object SetUpMark = new();

    /// <summary>Keeps a closed inner connection for <see cref="CreateConnection"/>, or disposes it when none is wanted.</summary>
    /// <param name="closed">A closed connection this strand made, which nobody outside Helix holds.</param>
    public void Keep(DbConnection closed)
    {
        if (_retired || !KeepsConnections || (_connectionSource is not null && !_madeFromSource.TryGetValue(closed, out _)) || !_closedConnections.Return(closed))
        {
            closed.Dispose();
        }
        else if (_retired)
        {
            Retire(); // the data source was disposed meanwhile
        }
    }

    /// <summary>Disposes the kept connections, and from now on every connection offered: the data source is disposed.</summary>
    public void Retire()
    {
        _retired = true;
        while (_closedConnections.Rent() is { } closed)
        {
            closed.Dispose();
        }
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
