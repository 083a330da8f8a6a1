using System.Data.Common;
using Helix.Data.Internal;
using Helix.Data.Replay;
using Helix.Data.Strategies;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Helix.Data;

/// <summary>
/// Builds a <see cref="HelixDataSource"/> from a connection string plus what a string cannot carry: configured inner
/// data sources, a logger factory, a clock, a replay queue, callbacks.
/// </summary>
/// <example>
/// <code>
/// await using var dataSource = new HelixDataSourceBuilder("Helix;Provider=Npgsql;Primary=\"Host=a\";Secondary=\"Host=b\"")
///     .UseLoggerFactory(loggerFactory)
///     .OnDivergence(d => alerts.Raise(d.Message))
///     .Build();
/// </code>
/// </example>
public sealed partial class HelixDataSourceBuilder
{
    private DbDataSource? _primary;
    private DbDataSource? _secondary;
    private ILoggerFactory? _loggerFactory;
    private TimeProvider? _timeProvider;
    private HelixErrorClassifier? _classifier;
    private HelixReplayQueue? _replayQueue;
    private Func<long>? _timestamps;
    private readonly List<Action<HelixReplayOptions>> _configureReplay = [];
    private IHelixReadStrategy? _readStrategy;
    private IHelixWriteStrategy? _writeStrategy;
    private IHelixFailoverPolicy? _failoverPolicy;
    private HelixDrainWatch? _drainWatch;

    /// <summary>Initializes a new instance of the <see cref="HelixDataSourceBuilder"/> class.</summary>
    /// <param name="connectionString">A Helix connection string, or <see langword="null"/> to set everything in code.</param>
    /// <exception cref="ArgumentException">The connection string is malformed or a Helix key has an invalid value.</exception>
    public HelixDataSourceBuilder(string? connectionString = null)
    {
        ConnectionStringBuilder = new HelixConnectionStringBuilder(connectionString);
    }

    /// <summary>Gets the builder of the scalar settings; change them here before calling <see cref="Build"/>.</summary>
    public HelixConnectionStringBuilder ConnectionStringBuilder { get; }

    /// <summary>Gets the connection string as currently configured.</summary>
    public string ConnectionString => ConnectionStringBuilder.ConnectionString;

    /// <summary>
    /// Uses a configured inner data source (for example an <c>NpgsqlDataSource</c>) as the primary strand. The
    /// <c>Primary</c>, <c>Provider</c> keys and shared keys of the connection string do not apply to it.
    /// </summary>
    /// <param name="dataSource">The data source; Helix does not dispose it.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder UsePrimary(DbDataSource dataSource)
    {
        _primary = dataSource ?? throw new ArgumentNullException(nameof(dataSource));
        return this;
    }

    /// <summary>
    /// Uses a configured inner data source as the secondary strand. The <c>Secondary</c>, <c>Provider</c> keys and
    /// shared keys of the connection string do not apply to it.
    /// </summary>
    /// <param name="dataSource">The data source; Helix does not dispose it.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder UseSecondary(DbDataSource dataSource)
    {
        _secondary = dataSource ?? throw new ArgumentNullException(nameof(dataSource));
        return this;
    }

    /// <summary>Sets the logger factory Helix logs through.</summary>
    /// <param name="loggerFactory">The factory, or <see langword="null"/> for no logging.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder UseLoggerFactory(ILoggerFactory? loggerFactory)
    {
        _loggerFactory = loggerFactory;
        return this;
    }

    /// <summary>Sets the clock behind cooldowns, backoff and timestamps (tests pass a fake one).</summary>
    /// <param name="timeProvider">The clock.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder UseTimeProvider(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        return this;
    }

    /// <summary>Sets the classifier that tells strand faults from statement errors.</summary>
    /// <param name="classifier">The classifier; derive from <see cref="HelixErrorClassifier"/> to refine the defaults.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder UseErrorClassifier(HelixErrorClassifier classifier)
    {
        _classifier = classifier ?? throw new ArgumentNullException(nameof(classifier));
        return this;
    }

    /// <summary>Uses a replay queue made in code instead of the one the <c>Replay</c> key names.</summary>
    /// <param name="queue">The queue; Helix does not dispose it.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder UseReplayQueue(HelixReplayQueue queue)
    {
        _replayQueue = queue ?? throw new ArgumentNullException(nameof(queue));
        return this;
    }

    /// <summary>
    /// Sets where write timestamps come from: a function returning microseconds since the Unix epoch. Helix still
    /// makes them strictly increasing within the process. By default they come from the <see cref="TimeProvider"/>.
    /// </summary>
    /// <param name="nowMicroseconds">The timestamp source.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder UseWriteTimestamps(Func<long> nowMicroseconds)
    {
        _timestamps = nowMicroseconds ?? throw new ArgumentNullException(nameof(nowMicroseconds));
        return this;
    }

    /// <summary>
    /// Tunes the replay worker. The options start from the connection string's <c>Replay ...</c> keys; the callbacks
    /// run at <see cref="Build"/>, in the order they were registered.
    /// </summary>
    /// <param name="configure">Changes the options.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder ConfigureReplay(Action<HelixReplayOptions> configure)
    {
        _configureReplay.Add(configure ?? throw new ArgumentNullException(nameof(configure)));
        return this;
    }

    /// <summary>
    /// Drains and undrains strands on the word of a watch made in code (for one on an existing NATS connection, see
    /// Helix.Data.Nats), instead of the one the <c>Drain Watch</c> key names.
    /// </summary>
    /// <param name="watch">The watch; the data source starts it and disposes it.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder UseDrainWatch(HelixDrainWatch watch)
    {
        _drainWatch = watch ?? throw new ArgumentNullException(nameof(watch));
        return this;
    }

    /// <summary>Gets or sets the data source's name, which tags its metrics and traces (connection-string key <c>Name</c>).</summary>
    public string Name
    {
        get => ConnectionStringBuilder.Name;
        set => ConnectionStringBuilder.Name = value;
    }

    /// <summary>
    /// Routes reads with a strategy made in code (a built-in one with its own settings, or your own), instead of the
    /// one the <c>Read Strategy</c> key names; the string must then not set <c>Read Strategy</c>, <c>Preferred Strand</c>,
    /// <c>Sticky Cooldown</c> or <c>Failback</c>.
    /// </summary>
    /// <param name="strategy">The strategy; it serves this data source only.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder UseReadStrategy(IHelixReadStrategy strategy)
    {
        _readStrategy = strategy ?? throw new ArgumentNullException(nameof(strategy));
        return this;
    }

    /// <summary>
    /// Executes writes with a strategy made in code, instead of the one the <c>Write Strategy</c> key names; the string
    /// must then not set <c>Write Strategy</c>, <c>Write Order</c> or the <c>Adaptive ...</c> keys.
    /// </summary>
    /// <param name="strategy">The strategy; it serves this data source only.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder UseWriteStrategy(IHelixWriteStrategy strategy)
    {
        _writeStrategy = strategy ?? throw new ArgumentNullException(nameof(strategy));
        return this;
    }

    /// <summary>
    /// Guards reads with a failover policy made in code, instead of the one the <c>Failover</c> key names; the string
    /// must then not set <c>Failover</c>, <c>Circuit Threshold</c>, <c>Circuit Reset</c> or <c>Latency Cap</c>.
    /// </summary>
    /// <param name="policy">The policy; it serves this data source only.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder UseFailoverPolicy(IHelixFailoverPolicy policy)
    {
        _failoverPolicy = policy ?? throw new ArgumentNullException(nameof(policy));
        return this;
    }

    /// <summary>Validates the configuration and builds the data source; its replay worker starts at once.</summary>
    /// <returns>The data source; dispose it when the application stops.</returns>
    /// <exception cref="ArgumentException">A setting is missing or invalid; the message names it.</exception>
    /// <exception cref="NotSupportedException">A setting names a feature this build does not provide.</exception>
    public HelixDataSource Build()
    {
        var csb = ConnectionStringBuilder;
        var (primaryName, secondaryName) = HelixKeywords.ParseStrandNames(csb.StrandNames);
        var hasSecondary = _secondary is not null || csb.Secondary is not null;
        ThrowIfSingleStrandKeys(csb, hasSecondary);
        ThrowIfSecondaryPipelineAlone(hasSecondary);
        var shared = csb.PassThroughEntries().ToList();
        var strands = new List<StrandSpec>
        {
            MakeStrand(HelixStrand.Primary, primaryName, _primary, csb.PrimaryProvider ?? csb.Provider, csb.Primary, HelixKeywords.Primary, HelixKeywords.PrimaryProvider, shared),
        };
        if (hasSecondary)
        {
            strands.Add(MakeStrand(HelixStrand.Secondary, secondaryName, _secondary, csb.SecondaryProvider ?? csb.Provider, csb.Secondary, HelixKeywords.Secondary, HelixKeywords.SecondaryProvider, shared));
        }

        var timeProvider = _timeProvider ?? TimeProvider.System;
        var (queue, ownsQueue) = hasSecondary ? MakeQueue(csb, timeProvider) : (null, false);
        if (hasSecondary && !csb.ReplayWorker && queue is not { IsShared: true })
        {
            throw HelixKeywords.Missing(
                HelixKeywords.ReplayWorker,
                "Connection-string key 'Replay Worker' is false (enqueue only), which needs a durable replay queue that another process drains (Replay=nats://... or file:...); 'Replay' is " + csb.Replay + ".");
        }

        var drainWatch = hasSecondary ? _drainWatch ?? MakeDrainWatch(csb) : null;
        var loggerFactory = _loggerFactory ?? NullLoggerFactory.Instance;
        var replayOptions = ReplayOptions(csb);
        var strategies = new StrategyFactory(csb, timeProvider, loggerFactory.CreateLogger("Helix.Data"), hasSecondary);
        if (csb.ContainsKey(HelixKeywords.ReplayMemoryLimit) && (_replayQueue is not null || queue is not HelixMemoryReplayQueue))
        {
            Logging.Log.OptionIgnored(loggerFactory.CreateLogger("Helix.Data"), HelixKeywords.ReplayMemoryLimit, "it bounds the in-memory queue that Replay=Memory makes, and this data source has " + (queue?.GetType().Name ?? "no queue"));
        }

        return new HelixDataSource(new HelixDataSourceConfiguration(
            ConnectionString: csb.ToString(),
            Strands: [.. strands],
            Name: csb.Name,
            ReadStrategy: strategies.Read(_readStrategy),
            WriteStrategy: strategies.Write(_writeStrategy),
            FailoverPolicy: strategies.Failover(_failoverPolicy),
            ReplayQueue: queue,
            OwnsReplayQueue: ownsQueue,
            ReplayWorker: csb.ReplayWorker,
            ReplayFull: csb.ReplayFull,
            StaleReads: csb.StaleReads,
            NondeterministicWrites: csb.NondeterministicWrites,
            ReplayOptions: replayOptions,
            LoggerFactory: loggerFactory,
            TimeProvider: timeProvider,
            ErrorClassifier: _classifier ?? HelixErrorClassifier.Default,
            WriteTimestamps: _timestamps ?? WriteTimestampSource.FromTimeProvider(timeProvider),
            OnDivergence: _onDivergence,
            DrainWatch: drainWatch,
            ReplayHooks: new(_onReplayed, _onReplayFailed, _onDeadLettered),
            StrandRetries: csb.StrandRetry,
            StrandRetryDelay: TimeSpan.FromMilliseconds(csb.StrandRetryDelay),
            HedgeAfter: csb.HedgeAfter,
            StrandPipelines: [.. _strandPipelines],
            HidesSecretsOnceOpen: !csb.PersistSecurityInfo && Redactor.HasSecrets(csb.ConnectionString)));
    }

    /// <summary>Refuses keys that need a secondary strand when there is none (single-strand mode).</summary>
    private static void ThrowIfSingleStrandKeys(HelixConnectionStringBuilder csb, bool hasSecondary)
    {
        if (!hasSecondary && csb.SecondaryProvider is not null)
        {
            throw KeyError(HelixKeywords.SecondaryProvider, "Connection-string key 'Secondary Provider' is set but 'Secondary' is not; give the secondary strand's connection string, or remove the key for single-strand mode.");
        }

        if (!hasSecondary && csb.PreferredStrand == HelixStrand.Secondary)
        {
            throw KeyError(HelixKeywords.PreferredStrand, "Connection-string key 'Preferred Strand' is 'Secondary', but there is no secondary strand (single-strand mode).");
        }

        // The key, not a parameter of this method, is what the exception names.
        static ArgumentException KeyError(string key, string message) => new(message, key);
    }

    private static HelixDrainWatch? MakeDrainWatch(HelixConnectionStringBuilder csb) =>
        csb.DrainWatch is { } location
            ? PackageFactory<IHelixDrainWatchFactory>("Helix.Data.Nats.NatsDrainWatchFactory, Helix.Data.Nats", "Helix.Data.Nats", HelixKeywords.DrainWatch, location, "pass a watch to HelixDataSourceBuilder.UseDrainWatch").Create(location, csb)
            : null;

    /// <summary>The replay options: the connection string's keys, then the <see cref="ConfigureReplay"/> callbacks.</summary>
    private HelixReplayOptions ReplayOptions(HelixConnectionStringBuilder csb)
    {
        var options = new HelixReplayOptions
        {
            BatchSize = csb.ReplayBatchSize,
            Rate = csb.ReplayRate,
            MaxAttempts = csb.ReplayMaxAttempts,
            BackoffInitial = TimeSpan.FromMilliseconds(csb.ReplayBackoff),
            BackoffMax = TimeSpan.FromMilliseconds(Math.Max(csb.ReplayBackoffMax, csb.ReplayBackoff)),
            PollInterval = TimeSpan.FromMilliseconds(csb.ReplayPollInterval),
            HealingWait = TimeSpan.FromMilliseconds(csb.HealingWait),
            InDoubtTimeout = TimeSpan.FromSeconds(csb.InDoubtTimeout),
            ProbeCommandText = csb.ProbeCommand,
        };
        if (csb.ContainsKey(HelixKeywords.ReplayBackoffMax) && csb.ReplayBackoffMax < csb.ReplayBackoff)
        {
            throw HelixKeywords.Invalid(HelixKeywords.ReplayBackoffMax, csb.ReplayBackoffMax.ToString(System.Globalization.CultureInfo.InvariantCulture), $"at least 'Replay Backoff' ({csb.ReplayBackoff} ms)");
        }

        foreach (var configure in _configureReplay)
        {
            configure(options);
        }

        return options.Validated();
    }

    private static StrandSpec MakeStrand(
        HelixStrand id,
        string name,
        DbDataSource? given,
        string? provider,
        string? connectionString,
        string key,
        string providerKey,
        IReadOnlyList<KeyValuePair<string, object>> shared)
    {
        if (given is not null)
        {
            using var probe = given.CreateConnection();
            var factory = DbProviderFactories.GetFactory(probe)
                ?? throw new ArgumentException($"The data source given for the {key.ToLowerInvariant()} strand does not name its provider factory.", key);
            return new StrandSpec(id, name, factory.GetType().Namespace ?? factory.GetType().Name, factory, given, OwnsDataSource: false);
        }

        if (connectionString is null)
        {
            throw new ArgumentException($"Connection-string key '{key}' is required: it holds the {key.ToLowerInvariant()} strand's own connection string, quoted, e.g. {key}=\"Host=db-a;Database=app\".", key);
        }

        var providerName = provider ?? ProviderInference.Infer(connectionString, shared.Select(k => k.Key), ProviderResolver.Available(), key);
        var resolved = ProviderResolver.Resolve(providerName, providerKey);
        var inner = InnerConnectionString.Build(resolved, providerName, key, connectionString, shared);
        return new StrandSpec(id, name, providerName, resolved, resolved.CreateDataSource(inner), OwnsDataSource: true, inner);
    }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2057", Justification = "Optional packages are loaded only when the application references them.")]
    private static T PackageFactory<T>(string typeName, string package, string key, string value, string alternative)
        where T : class
    {
        var type = Type.GetType(typeName, throwOnError: false);
        return type is not null && Activator.CreateInstance(type) is T factory
            ? factory
            : throw new NotSupportedException(
                $"Connection-string key '{key}' is '{value}', which the package {package} provides; add a reference to {package}, or {alternative}.");
    }

    private static IHelixReplayQueueFactory QueueFactory(string typeName, string package, string value) =>
        PackageFactory<IHelixReplayQueueFactory>(typeName, package, HelixKeywords.Replay, value, "pass a queue to HelixDataSourceBuilder.UseReplayQueue");

    private (HelixReplayQueue? Queue, bool Owns) MakeQueue(HelixConnectionStringBuilder csb, TimeProvider timeProvider)
    {
        if (_replayQueue is not null)
        {
            return (_replayQueue, false);
        }

        var target = ReplayTarget.Parse(csb.Replay);
        return target.Kind switch
        {
            ReplayTargetKind.Memory => (new HelixMemoryReplayQueue(new HelixMemoryReplayQueueOptions { MemoryLimit = csb.ReplayMemoryLimitBytes, Capacity = csb.ReplayCapacity, PriorityRatio = csb.ReplayPriorityRatio, StrictPriority = csb.ReplayStrictPriority }, timeProvider), true),
            ReplayTargetKind.None => (null, false),
            ReplayTargetKind.Nats => (QueueFactory("Helix.Data.Nats.NatsReplayQueueFactory, Helix.Data.Nats", "Helix.Data.Nats", "nats://...").Create(target.Location!, csb), true),
            _ => (QueueFactory("Helix.Data.FileReplay.FileReplayQueueFactory, Helix.Data.FileReplay", "Helix.Data.FileReplay", "file:...").Create(target.Location!, csb), true),
        };
    }
}
