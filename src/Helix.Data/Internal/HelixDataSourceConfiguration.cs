using Helix.Data.Replay;
using Helix.Data.Strategies;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal;

/// <summary>Everything a data source is built from, validated and frozen by <see cref="HelixDataSourceBuilder.Build"/>.</summary>
internal sealed record HelixDataSourceConfiguration(
    string ConnectionString,
    StrandSpec[] Strands,
    string Name,
    IHelixReadStrategy ReadStrategy,
    IHelixWriteStrategy WriteStrategy,
    IHelixFailoverPolicy FailoverPolicy,
    HelixReplayQueue? ReplayQueue,
    bool OwnsReplayQueue,
    bool ReplayWorker,
    HelixReplayFullPolicy ReplayFull,
    HelixStaleReads StaleReads,
    HelixNondeterministicWrites NondeterministicWrites,
    HelixReplayOptions ReplayOptions,
    ILoggerFactory LoggerFactory,
    TimeProvider TimeProvider,
    HelixErrorClassifier ErrorClassifier,
    Func<long> WriteTimestamps,
    Action<HelixDivergence>? OnDivergence,
    HelixDrainWatch? DrainWatch,
    Replay.ReplayHooks ReplayHooks,
    int StrandRetries,
    TimeSpan StrandRetryDelay,
    string HedgeAfter,
    Polly.ResiliencePipeline?[] StrandPipelines,
    bool HidesSecretsOnceOpen);

/// <summary>What a strand is made of, before the data source gives it a state.</summary>
internal sealed record StrandSpec(HelixStrand Id, string Name, string ProviderName, System.Data.Common.DbProviderFactory Factory, System.Data.Common.DbDataSource DataSource, bool OwnsDataSource, string? ConnectionString = null);
