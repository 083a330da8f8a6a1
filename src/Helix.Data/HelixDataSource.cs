using System.Collections.Concurrent;
using System.Data.Common;
using Helix.Data.Internal;
using Helix.Data.Internal.Execution;
using Helix.Data.Internal.Replay;
using Helix.Data.Logging;
using Helix.Data.Replay;
using Helix.Data.Strategies;
using Microsoft.Extensions.Logging;

namespace Helix.Data;

/// <summary>
/// The long-lived object behind Helix.Data connections: the two inner data sources, strand health, read routing, the
/// replay queue and its worker. Connections opened from the same connection string share one data source.
/// </summary>
/// <remarks>
/// Build one with <see cref="HelixDataSourceBuilder"/> or <see cref="Create"/>, keep it for the life of the
/// application and dispose it at the end: disposal stops the replay worker.
/// </remarks>
public sealed partial class HelixDataSource : DbDataSource
{
    private static readonly ConcurrentDictionary<string, Lazy<HelixDataSource>> Shared = new(StringComparer.Ordinal);

    private readonly HelixDataSourceConfiguration _configuration;
    private readonly ReplayWorker? _worker;
    private readonly CircuitProber? _prober;
    private string? _sharedKey;

    // The shared data source last looked up, ahead of the dictionary that would hash the whole connection string on every
    // open. Kept because it pays: without it a Dapper read on SQLite executes 732 more instructions, 1.06 % of the read
    // (eng/instructions.sh Sqlite, issue 20; docs/performance.md). A plain static, not a thread-static: a thread-static
    // read costs a runtime helper call (two per lookup), more than the rest of the check.
    private static HelixDataSource? _lastShared;
    private int _disposed;

    internal HelixDataSource(HelixDataSourceConfiguration configuration)
    {
        _configuration = configuration;
        Logger = configuration.LoggerFactory.CreateLogger("Helix.Data");
        Reporter = new DivergenceReporter(Logger, configuration.OnDivergence);
        NondeterministicWrites = new NondeterministicWriteCheck(configuration.NondeterministicWrites, Logger,
            postgres: configuration.Strands.Any(IsPostgres));
        CarriesTransactionSettings = configuration.Strands.All(IsPostgres);
        Timestamps = new WriteTimestampSource(configuration.WriteTimestamps);
        Strands = [.. configuration.Strands.Select(spec => new Strand(
            spec.Id, spec.Name, spec.ProviderName, spec.Factory, spec.DataSource, spec.OwnsDataSource,
            new StrandController(spec.Id, configuration.ReplayQueue, configuration.TimeProvider, OnStrandStateChanged, configuration.ReplayFull),
            configuration.Name) { Pipeline = configuration.StrandPipelines[(int)spec.Id], ConnectionString = spec.ConnectionString ?? spec.DataSource.ConnectionString })];
        Log.DataSourceCreated(Logger, configuration.ConnectionString);
        Hedging = ReadHedging.From(configuration.HedgeAfter, Strands.Length);
        Retry = new StrandRetry(Strands.Length == 2 ? configuration.StrandRetries : 0, configuration.StrandRetryDelay, configuration.TimeProvider, configuration.ErrorClassifier, Logger);
        if (Strands.Length == 2)
        {
            if (configuration.ReplayQueue is null)
            {
                Log.ReplayDisabled(Logger);
            }

            StrandView = new StrandSet(Strands, configuration.FailoverPolicy, configuration.TimeProvider, Logger);
            Reads = new ReadCoordinator(Strands, configuration.ReadStrategy, configuration.FailoverPolicy, StrandView, Logger, Hedging);
            if (configuration.FailoverPolicy.HasCircuits)
            {
                _prober = new CircuitProber(Strands, Reads, configuration.ReplayOptions.ProbeCommandText, configuration.TimeProvider, Logger);
            }

            var context = new HelixReplayContext([.. Strands.Select(s => s.Name)], [.. Strands.Select(s => s.Factory)], configuration.TimeProvider, configuration.LoggerFactory, configuration.ReplayWorker);
            _worker = new ReplayWorker(
                new ReplayEnvironment(Strands, configuration.ReplayQueue, configuration.ReplayOptions, configuration.ErrorClassifier, configuration.TimeProvider, Logger, Reporter, configuration.ReplayWorker, configuration.WriteStrategy, StrandView, configuration.ReplayHooks),
                context);
        }

        HelixMetrics.Register(this);
        configuration.DrainWatch?.Start(this);
    }

    /// <summary>Builds a data source from a connection string, with default settings for everything a string cannot say.</summary>
    /// <param name="connectionString">A Helix connection string.</param>
    /// <returns>The data source.</returns>
    /// <exception cref="ArgumentException">The connection string is malformed or invalid; the message names the key.</exception>
    public static HelixDataSource Create(string connectionString) => new HelixDataSourceBuilder(connectionString).Build();

    /// <summary>Gets the connection string, with passwords masked.</summary>
    public override string ConnectionString => _configuration.ConnectionString;

    /// <summary>Gets a value indicating whether the data source has only a primary strand and passes everything through.</summary>
    public bool IsSingleStrand => Strands.Length == 1;

    /// <summary>Gets the replay queue, or <see langword="null"/> with <c>Replay=None</c> or in single-strand mode.</summary>
    public HelixReplayQueue? ReplayQueue => _configuration.ReplayQueue;

    internal Strand[] Strands { get; }

    /// <summary>
    /// Gets a value indicating whether Helix takes the part of its strands in ambient <c>System.Transactions</c>
    /// transactions (<see cref="AmbientTransactions"/>): two strands, and a strand's provider would enlist.
    /// </summary>
    /// <remarks>Asked at every open: learnt once (the strands' answers make a connection object each), then a field read.</remarks>
    internal bool TakesAmbientTransactions
    {
        get
        {
            if (_takesAmbientTransactions == 0)
            {
                _takesAmbientTransactions = !IsSingleStrand && Array.Exists(Strands, static s => s.EnlistsInAmbientTransactions) ? 1 : -1;
            }

            return _takesAmbientTransactions > 0;
        }
    }

    private int _takesAmbientTransactions; // 0 until learnt, then 1 or -1

    /// <summary>The Helix transactions that stand for ambient transactions on this data source, by ambient transaction.</summary>
    internal ConcurrentDictionary<System.Transactions.Transaction, AmbientEnlistment> Enlistments { get; } = new();

    /// <summary>Gets the name of the data source, as metrics and traces tag it (<c>helix.data_source</c>).</summary>
    public string Name => _configuration.Name;

    /// <summary>Gets the read strategy; cast it to reach a built-in strategy's own members (<see cref="PrimaryOnlyReadStrategy.Reset"/>).</summary>
    /// <value>The strategy, or <see langword="null"/> in single-strand mode.</value>
    public IHelixReadStrategy? ReadStrategy => IsSingleStrand ? null : _configuration.ReadStrategy;

    /// <summary>Gets the write strategy, or <see langword="null"/> in single-strand mode.</summary>
    public IHelixWriteStrategy? WriteStrategy => IsSingleStrand ? null : _configuration.WriteStrategy;

    /// <summary>Gets the failover policy, or <see langword="null"/> in single-strand mode.</summary>
    public IHelixFailoverPolicy? FailoverPolicy => IsSingleStrand ? null : _configuration.FailoverPolicy;

    /// <summary>Gets the read routing of a two-strand data source.</summary>
    internal ReadCoordinator? Reads { get; }

    /// <summary>Gets what strategies see of the strands of a two-strand data source.</summary>
    internal StrandSet? StrandView { get; }

    internal ILogger Logger { get; }

    /// <summary>Gets what a write on two strands does whose text calls a function each database evaluates for itself (<c>Nondeterministic Writes</c>).</summary>
    internal NondeterministicWriteCheck NondeterministicWrites { get; }

    /// <summary>
    /// Gets whether a transaction's own settings (<c>SET LOCAL</c>, <c>set_config(..., true)</c>) end with it on every
    /// strand, as on PostgreSQL; MySQL's <c>SET LOCAL</c> is the session's (<see cref="SessionState"/>).
    /// </summary>
    internal bool CarriesTransactionSettings { get; }

    /// <summary>Gets <c>Hedge After</c>: when a read also goes to the other strand, or <see langword="null"/> when reads are not hedged.</summary>
    internal ReadHedging? Hedging { get; }

    /// <summary>Gets <c>Strand Retry</c>: what runs a strand fault again before the strand counts as failed (off in single-strand mode).</summary>
    internal StrandRetry Retry { get; }

    internal DivergenceReporter Reporter { get; }

    internal WriteTimestampSource Timestamps { get; }

    internal HelixDataSourceConfiguration Configuration => _configuration;

    /// <summary>
    /// Gets or sets whether a concurrent write whose strands would not overlap on the caller's thread offers one strand to
    /// the thread pool (contract amendment 14). Only tests turn it off, to have the caller take every offer back as a
    /// starved pool would make it: the strands then run in turn on the caller's thread.
    /// </summary>
    internal bool OffersToThreadPool { get; set; } = true;

    /// <summary>
    /// Gets or sets how long the second strand's recent writes must take for a concurrent write to offer it to another
    /// thread (contract amendment 14); shorter writes run in turn. Tests set it to pin one behaviour or the other.
    /// </summary>
    internal TimeSpan OffloadThreshold { get; set; } = TimeSpan.FromMicroseconds(HelixDefaults.OffloadThresholdMicroseconds);

    internal TimeProvider TimeProvider => _configuration.TimeProvider;

    internal HelixErrorClassifier Classifier => _configuration.ErrorClassifier;

    /// <summary>Creates a connection, closed.</summary>
    /// <returns>A new connection that uses this data source.</returns>
    public new HelixConnection CreateConnection()
    {
        ThrowIfDisposed();
        return new HelixConnection(this);
    }

    /// <summary>Creates and opens a connection.</summary>
    /// <returns>An open connection.</returns>
    public new HelixConnection OpenConnection()
    {
        var connection = CreateConnection();
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Creates and opens a connection.</summary>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>An open connection.</returns>
    public new async ValueTask<HelixConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = CreateConnection();
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    protected override DbConnection CreateDbConnection() => CreateConnection();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Disposal waits for the background loops (worker, prober, drain watch) to end, and they run on the thread
            // pool; nothing in it resumes on the caller's synchronization context (ConfigureAwait(false) throughout), so
            // waiting here cannot deadlock a UI or request thread (HazardTests: disposing on a context never pumped).
            DisposeAsyncCore().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await base.DisposeAsyncCore().ConfigureAwait(false);
            return;
        }

        if (_sharedKey is not null && Shared.TryGetValue(_sharedKey, out var shared) && shared.IsValueCreated && ReferenceEquals(shared.Value, this))
        {
            Shared.TryRemove(new KeyValuePair<string, Lazy<HelixDataSource>>(_sharedKey, shared));
        }

        HelixMetrics.Unregister(this);
        if (_worker is not null && Internal.Replay.UnreplayedWrites.EndWithTheProcess(_configuration))
        {
            await Internal.Replay.UnreplayedWrites.DrainAsync(Strands, _configuration.ReplayOptions.DrainOnDispose).ConfigureAwait(false);
            Internal.Replay.UnreplayedWrites.ReportLost(Strands, _configuration.Name, Logger);
        }

        if (_configuration.DrainWatch is { } watch)
        {
            await watch.DisposeAsync().ConfigureAwait(false);
        }
        if (_prober is not null)
        {
            await _prober.DisposeAsync().ConfigureAwait(false);
        }

        if (_worker is not null)
        {
            await _worker.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var strand in Strands)
        {
            strand.Retire();
        }

        foreach (var strand in Strands.Where(s => s.OwnsDataSource))
        {
            await strand.DataSource.DisposeAsync().ConfigureAwait(false);
        }

        if (_configuration is { OwnsReplayQueue: true, ReplayQueue: { } queue })
        {
            await queue.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    /// <summary>The data source shared by every connection made with this connection string.</summary>
    internal static HelixDataSource GetShared(string connectionString)
    {
        // Applications use one connection string, or a few: the last one looked up is recognised by comparing the text
        // (by reference first), before the dictionary hashes the whole (long) string.
        if (Volatile.Read(ref _lastShared) is { } last && string.Equals(last._sharedKey, connectionString, StringComparison.Ordinal) && Volatile.Read(ref last._disposed) == 0)
        {
            return last;
        }

        // Racing first uses agree on one Lazy, so one data source is built (with its worker, prober and drain watch). A
        // string that fails to build is not kept: the next use tries again and gets the same error.
        HelixDataSource shared;
        while (true)
        {
            var lazy = Shared.GetOrAdd(connectionString, static key => new Lazy<HelixDataSource>(() => Build(key), LazyThreadSafetyMode.ExecutionAndPublication));
            try
            {
                shared = lazy.Value;
            }
            catch
            {
                Shared.TryRemove(new KeyValuePair<string, Lazy<HelixDataSource>>(connectionString, lazy));
                throw;
            }

            if (Volatile.Read(ref shared._disposed) == 0)
            {
                break;
            }

            Shared.TryRemove(new KeyValuePair<string, Lazy<HelixDataSource>>(connectionString, lazy)); // disposed meanwhile: build anew
        }

        Volatile.Write(ref _lastShared, shared);
        return shared;

        static HelixDataSource Build(string key)
        {
            var created = Create(key);
            created._sharedKey = key;
            return created;
        }
    }

    internal Strand GetStrand(HelixStrand strand) =>
        (int)strand < Strands.Length ? Strands[(int)strand] : throw new ArgumentOutOfRangeException(nameof(strand), strand, "This data source has no secondary strand (single-strand mode).");

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>
    /// Waits until one of <paramref name="changed"/> completes, up to <paramref name="timeout"/>; returns false when the
    /// time ran out. The tasks are captured together with the decision that made the caller wait, so no change in
    /// between is missed.
    /// </summary>
    internal async ValueTask<bool> WaitForStateChangeAsync(Task[] changed, IOBehavior io, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var changes = changed.ToList();
        using var delayCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = timeout == Timeout.InfiniteTimeSpan ? null : Task.Delay(timeout, TimeProvider, delayCancellation.Token);
        if (delay is not null)
        {
            changes.Add(delay);
        }

        try
        {
            Task finished;
            if (io == IOBehavior.Synchronous)
            {
                // Blocks on state-change signals and a timer, not on asynchronous I/O.
                finished = changes[Task.WaitAny([.. changes], cancellationToken)];
            }
            else
            {
                finished = await Task.WhenAny(changes).WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return finished != delay;
        }
        finally
        {
            if (io == IOBehavior.Synchronous)
            {
                delayCancellation.Cancel();
            }
            else
            {
                await delayCancellation.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    private void OnStrandStateChanged(HelixStrand strand, HelixStrandState previous, HelixStrandState state, string? reason)
    {
        Log.StrandStateChanged(Logger, _configuration.Strands[(int)strand].Name, state, previous, reason is null ? string.Empty : ": " + reason);
        if (state == HelixStrandState.OutOfSync && Strands is { } all)
        {
            // Called under the strand's lock: the report, which runs the user's callback, waits for the thread pool.
            ThreadPool.QueueUserWorkItem(_ => Reporter.OutOfSync(all[(int)strand], reason ?? "it misses writes no queue holds"));
        }

        if (previous == HelixStrandState.Healthy && Strands is { Length: 2 } strands && strands[1 - (int)strand].Controller.IsDeferred)
        {
            // One strand always takes writes synchronously: when this one stops, the other stops being deferred. Called
            // under this strand's lock, so the other strand's lock is taken on the thread pool.
            var other = strands[1 - (int)strand].Id;
            ThreadPool.QueueUserWorkItem(_ => StrandView?.Resume(other, $"strand {_configuration.Strands[(int)strand].Name} is {state}"));
        }
    }

    private static bool IsPostgres(StrandSpec strand) => strand.Factory.GetType().FullName == "Npgsql.NpgsqlFactory";
}
