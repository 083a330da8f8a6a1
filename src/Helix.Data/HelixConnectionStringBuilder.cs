using System.ComponentModel;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Helix.Data.Internal;

namespace Helix.Data;

/// <summary>
/// Builds and parses Helix.Data connection strings such as
/// <c>Helix;Provider=Npgsql;Primary="Host=pg-a;Database=app";Secondary="Host=pg-b;Database=app";Username=app</c>.
/// </summary>
/// <remarks>
/// <para>
/// Keys are case-insensitive and each has a spaced form and a compact alias (<c>Read Strategy</c> and
/// <c>ReadStrategy</c>). Enumerated values are case-insensitive and also accepted in kebab-case (<c>primary-only</c>).
/// Every value is validated when it is set: a bad one throws an <see cref="ArgumentException"/> naming the key, the
/// value and what is allowed.
/// </para>
/// <para>
/// Keys Helix does not own (<c>Username</c>, <c>Password</c>, <c>Database</c>, ...) are kept and passed to both inner
/// connection strings, unless an inner string sets the same key itself. A leading bare <c>Helix</c> token is accepted
/// and ignored. <see cref="ToString"/> masks passwords; <see cref="DbConnectionStringBuilder.ConnectionString"/> does not.
/// </para>
/// </remarks>
public sealed class HelixConnectionStringBuilder : DbConnectionStringBuilder
{
    /// <summary>Initializes a new, empty instance of the <see cref="HelixConnectionStringBuilder"/> class.</summary>
    public HelixConnectionStringBuilder()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="HelixConnectionStringBuilder"/> class from a connection string.</summary>
    /// <param name="connectionString">A Helix connection string; a leading <c>Helix;</c> token is allowed.</param>
    /// <exception cref="ArgumentException">The string is malformed or a Helix key has an invalid value.</exception>
    public HelixConnectionStringBuilder(string? connectionString)
    {
        try
        {
            var text = StripMarker(connectionString ?? string.Empty);
            HelixKeywords.ThrowIfStrandLeftEmpty(text);
            ConnectionString = text;
        }
        catch (ArgumentException e) when (e.ParamName is null)
        {
            // The base parser's message gives the position only; say what usually causes it, without echoing the
            // string (it may hold a password).
            throw new ArgumentException(
                $"The Helix connection string is malformed: {e.Message} Write key=value pairs separated by ';', and quote values that contain ';' or '=', e.g. Primary=\"Host=a;Database=app\".",
                nameof(connectionString),
                e);
        }
    }

    /// <summary>Gets or sets the invariant name of the inner ADO.NET provider of both strands (key <c>Provider</c>).</summary>
    [Category("Strands")]
    [DisplayName(HelixKeywords.Provider)]
    [Description("Invariant name of the inner ADO.NET provider of both strands, e.g. Npgsql.")]
    public string? Provider
    {
        get => GetString(HelixKeywords.Provider);
        set => SetOrRemove(HelixKeywords.Provider, value);
    }

    /// <summary>Gets or sets the provider of the primary strand, overriding <see cref="Provider"/> (key <c>Primary Provider</c>).</summary>
    [Category("Strands")]
    [DisplayName(HelixKeywords.PrimaryProvider)]
    [Description("Invariant name of the primary strand's provider; defaults to Provider.")]
    public string? PrimaryProvider
    {
        get => GetString(HelixKeywords.PrimaryProvider);
        set => SetOrRemove(HelixKeywords.PrimaryProvider, value);
    }

    /// <summary>Gets or sets the provider of the secondary strand, overriding <see cref="Provider"/> (key <c>Secondary Provider</c>).</summary>
    [Category("Strands")]
    [DisplayName(HelixKeywords.SecondaryProvider)]
    [Description("Invariant name of the secondary strand's provider; defaults to Provider.")]
    public string? SecondaryProvider
    {
        get => GetString(HelixKeywords.SecondaryProvider);
        set => SetOrRemove(HelixKeywords.SecondaryProvider, value);
    }

    /// <summary>Gets or sets the inner connection string of the primary strand (key <c>Primary</c>; required).</summary>
    [Category("Strands")]
    [DisplayName(HelixKeywords.Primary)]
    [Description("Inner connection string of the primary strand (quote it when it contains ';').")]
    [PasswordPropertyText(true)]
    public string? Primary
    {
        get => GetString(HelixKeywords.Primary);
        set => SetOrRemove(HelixKeywords.Primary, value);
    }

    /// <summary>
    /// Gets or sets the inner connection string of the secondary strand (key <c>Secondary</c>). Without it the data
    /// source runs in single-strand mode: a pure pass-through to the primary.
    /// </summary>
    [Category("Strands")]
    [DisplayName(HelixKeywords.Secondary)]
    [Description("Inner connection string of the secondary strand; omit it for single-strand mode.")]
    [PasswordPropertyText(true)]
    public string? Secondary
    {
        get => GetString(HelixKeywords.Secondary);
        set => SetOrRemove(HelixKeywords.Secondary, value);
    }

    /// <summary>Gets or sets how reads are routed (key <c>Read Strategy</c>).</summary>
    /// <value>The default value is <see cref="HelixReadStrategy.Sticky"/>.</value>
    [Category("Reads")]
    [DisplayName(HelixKeywords.ReadStrategy)]
    [DefaultValue(HelixReadStrategy.Sticky)]
    public HelixReadStrategy ReadStrategy
    {
        get => GetEnum(HelixKeywords.ReadStrategy, HelixReadStrategy.Sticky);
        set => this[HelixKeywords.ReadStrategy] = value.ToString();
    }

    /// <summary>Gets or sets the strand sticky reads start on (key <c>Preferred Strand</c>); <see langword="null"/> picks one at random per data source.</summary>
    [Category("Reads")]
    [DisplayName(HelixKeywords.PreferredStrand)]
    [DefaultValue(null)]
    public HelixStrand? PreferredStrand
    {
        get => TryGetValue(HelixKeywords.PreferredStrand, out var value) ? Enum.Parse<HelixStrand>((string)value) : null;
        set => SetOrRemove(HelixKeywords.PreferredStrand, value?.ToString());
    }

    /// <summary>Gets or sets, in seconds, how long sticky reads stay on a strand after switching to it (key <c>Sticky Cooldown</c>).</summary>
    /// <value>The default value is 300 seconds.</value>
    [Category("Reads")]
    [DisplayName(HelixKeywords.StickyCooldown)]
    [DefaultValue(HelixDefaults.StickyCooldownSeconds)]
    public int StickyCooldown
    {
        get => GetInt(HelixKeywords.StickyCooldown, HelixDefaults.StickyCooldownSeconds);
        set => this[HelixKeywords.StickyCooldown] = value;
    }

    /// <summary>Gets or sets when <c>PrimaryOnly</c> reads return to the primary after a failover (key <c>Failback</c>).</summary>
    /// <value>The default value is <see cref="HelixFailback.Automatic"/>.</value>
    [Category("Reads")]
    [DisplayName(HelixKeywords.Failback)]
    [DefaultValue(HelixFailback.Automatic)]
    public HelixFailback Failback
    {
        get => GetEnum(HelixKeywords.Failback, HelixFailback.Automatic);
        set => this[HelixKeywords.Failback] = value.ToString();
    }

    /// <summary>Gets or sets how writes are executed on the strands (key <c>Write Strategy</c>).</summary>
    /// <value>The default value is <see cref="HelixWriteStrategy.Concurrent"/>.</value>
    [Category("Writes")]
    [DisplayName(HelixKeywords.WriteStrategy)]
    [DefaultValue(HelixWriteStrategy.Concurrent)]
    public HelixWriteStrategy WriteStrategy
    {
        get => GetEnum(HelixKeywords.WriteStrategy, HelixWriteStrategy.Concurrent);
        set => this[HelixKeywords.WriteStrategy] = value.ToString();
    }

    /// <summary>Gets or sets which strand applies each write first with <c>Write Strategy=Sequential</c> (key <c>Write Order</c>).</summary>
    /// <value>The default value is <see cref="Strategies.HelixWriteOrder.PrimaryFirst"/>.</value>
    [Category("Writes")]
    [DisplayName(HelixKeywords.WriteOrder)]
    [DefaultValue(Strategies.HelixWriteOrder.PrimaryFirst)]
    public Strategies.HelixWriteOrder WriteOrder
    {
        get => GetEnum(HelixKeywords.WriteOrder, Strategies.HelixWriteOrder.PrimaryFirst);
        set => this[HelixKeywords.WriteOrder] = value.ToString();
    }

    /// <summary>Gets or sets in milliseconds, by how much a strand must be slower than the other to earn an adaptive strike (key <c>Adaptive Delta</c>).</summary>
    /// <value>The default value is 300 milliseconds.</value>
    [Category("Writes")]
    [DisplayName(HelixKeywords.AdaptiveDelta)]
    [DefaultValue(HelixDefaults.AdaptiveDeltaMilliseconds)]
    public int AdaptiveDelta
    {
        get => GetInt(HelixKeywords.AdaptiveDelta, HelixDefaults.AdaptiveDeltaMilliseconds);
        set => this[HelixKeywords.AdaptiveDelta] = value;
    }

    /// <summary>Gets or sets how many slow writes in a row defer a strand under <c>Write Strategy=Adaptive</c> (key <c>Adaptive Strikes</c>).</summary>
    /// <value>The default value is 3.</value>
    [Category("Writes")]
    [DisplayName(HelixKeywords.AdaptiveStrikes)]
    [DefaultValue(HelixDefaults.AdaptiveStrikes)]
    public int AdaptiveStrikes
    {
        get => GetInt(HelixKeywords.AdaptiveStrikes, HelixDefaults.AdaptiveStrikes);
        set => this[HelixKeywords.AdaptiveStrikes] = value;
    }

    /// <summary>Gets or sets in milliseconds, the write latency that defers a strand at once under <c>Write Strategy=Adaptive</c> (key <c>Adaptive Cap</c>).</summary>
    /// <value>The default value is 2000 milliseconds.</value>
    [Category("Writes")]
    [DisplayName(HelixKeywords.AdaptiveCap)]
    [DefaultValue(HelixDefaults.AdaptiveCapMilliseconds)]
    public int AdaptiveCap
    {
        get => GetInt(HelixKeywords.AdaptiveCap, HelixDefaults.AdaptiveCapMilliseconds);
        set => this[HelixKeywords.AdaptiveCap] = value;
    }

    /// <summary>Gets or sets in milliseconds, the latency under which adaptive differences do not count (key <c>Adaptive Floor</c>).</summary>
    /// <value>The default value is 100 milliseconds.</value>
    [Category("Writes")]
    [DisplayName(HelixKeywords.AdaptiveFloor)]
    [DefaultValue(HelixDefaults.AdaptiveFloorMilliseconds)]
    public int AdaptiveFloor
    {
        get => GetInt(HelixKeywords.AdaptiveFloor, HelixDefaults.AdaptiveFloorMilliseconds);
        set => this[HelixKeywords.AdaptiveFloor] = value;
    }

    /// <summary>Gets or sets how many fast replay applies in a row end an adaptive deferral (key <c>Adaptive Recovery</c>).</summary>
    /// <value>The default value is 5.</value>
    [Category("Writes")]
    [DisplayName(HelixKeywords.AdaptiveRecovery)]
    [DefaultValue(HelixDefaults.AdaptiveRecovery)]
    public int AdaptiveRecovery
    {
        get => GetInt(HelixKeywords.AdaptiveRecovery, HelixDefaults.AdaptiveRecovery);
        set => this[HelixKeywords.AdaptiveRecovery] = value;
    }

    /// <summary>Gets or sets when a failed read is retried on the other strand (key <c>Failover</c>).</summary>
    /// <value>The default value is <see cref="HelixFailover.Active"/>.</value>
    [Category("Reads")]
    [DisplayName(HelixKeywords.Failover)]
    [DefaultValue(HelixFailover.Active)]
    public HelixFailover Failover
    {
        get => GetEnum(HelixKeywords.Failover, HelixFailover.Active);
        set => this[HelixKeywords.Failover] = value.ToString();
    }

    /// <summary>Gets or sets how many consecutive failures open a circuit (key <c>Circuit Threshold</c>).</summary>
    /// <value>The default value is 3.</value>
    [Category("Reads")]
    [DisplayName(HelixKeywords.CircuitThreshold)]
    [DefaultValue(HelixDefaults.CircuitThreshold)]
    public int CircuitThreshold
    {
        get => GetInt(HelixKeywords.CircuitThreshold, HelixDefaults.CircuitThreshold);
        set => this[HelixKeywords.CircuitThreshold] = value;
    }

    /// <summary>Gets or sets, in seconds, after how long an open circuit lets a trial call through (key <c>Circuit Reset</c>).</summary>
    /// <value>The default value is 30 seconds.</value>
    [Category("Reads")]
    [DisplayName(HelixKeywords.CircuitReset)]
    [DefaultValue(HelixDefaults.CircuitResetSeconds)]
    public int CircuitReset
    {
        get => GetInt(HelixKeywords.CircuitReset, HelixDefaults.CircuitResetSeconds);
        set => this[HelixKeywords.CircuitReset] = value;
    }

    /// <summary>Gets or sets, in milliseconds, the latency above which a success counts as a soft failure (key <c>Latency Cap</c>).</summary>
    /// <value>The default value is 2000 milliseconds.</value>
    [Category("Reads")]
    [DisplayName(HelixKeywords.LatencyCap)]
    [DefaultValue(HelixDefaults.LatencyCapMilliseconds)]
    public int LatencyCap
    {
        get => GetInt(HelixKeywords.LatencyCap, HelixDefaults.LatencyCapMilliseconds);
        set => this[HelixKeywords.LatencyCap] = value;
    }

    /// <summary>Gets or sets where replay entries are kept: <c>Memory</c>, <c>None</c>, <c>nats://host:port</c> or <c>file:path</c> (key <c>Replay</c>).</summary>
    /// <value>The default value is <c>Memory</c>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.Replay)]
    [DefaultValue("Memory")]
    public string Replay
    {
        get => GetString(HelixKeywords.Replay) ?? "Memory";
        set => this[HelixKeywords.Replay] = value;
    }

    /// <summary>
    /// Gets or sets how much memory the in-memory replay queue may take per strand, such as <c>256MB</c> (key
    /// <c>Replay Memory Limit</c>; KB, MB and GB are powers of 1024).
    /// </summary>
    /// <value>The default value is 256 MB.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayMemoryLimit)]
    [DefaultValue(HelixDefaults.ReplayMemoryLimit)]
    public string ReplayMemoryLimit
    {
        get => GetString(HelixKeywords.ReplayMemoryLimit) ?? HelixDefaults.ReplayMemoryLimit;
        set => this[HelixKeywords.ReplayMemoryLimit] = value;
    }

    /// <summary>Gets the <see cref="ReplayMemoryLimit"/> in bytes.</summary>
    internal long ReplayMemoryLimitBytes =>
        TryGetValue(HelixKeywords.ReplayMemoryLimit, out var value) ? HelixKeywords.ParseBytes(HelixKeywords.ReplayMemoryLimit, (string)value) : HelixDefaults.ReplayMemoryLimitBytes;

    /// <summary>
    /// Gets or sets how many entries the replay queue holds per strand, or <see langword="null"/> for no count limit (key
    /// <c>Replay Capacity</c>): the memory queue is bounded by <see cref="ReplayMemoryLimit"/> anyway, a file queue by its disk.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayCapacity)]
    [DefaultValue(null)]
    public int? ReplayCapacity
    {
        get => TryGetValue(HelixKeywords.ReplayCapacity, out var value) ? int.Parse((string)value, CultureInfo.InvariantCulture) : null;
        set => SetOrRemove(HelixKeywords.ReplayCapacity, value?.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Gets or sets what a read does when no healthy strand can serve it (key <c>Stale Reads</c>).</summary>
    /// <value>The default value is <see cref="HelixStaleReads.Never"/>: reads keep read-your-writes, waiting within the command timeout.</value>
    [Category("Reads")]
    [DisplayName(HelixKeywords.StaleReads)]
    [DefaultValue(HelixStaleReads.Never)]
    public HelixStaleReads StaleReads
    {
        get => GetEnum(HelixKeywords.StaleReads, HelixStaleReads.Never);
        set => this[HelixKeywords.StaleReads] = value.ToString();
    }

    /// <summary>Gets or sets whether this process runs the replay worker; <see langword="false"/> only enqueues (key <c>Replay Worker</c>).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayWorker)]
    [DefaultValue(true)]
    public bool ReplayWorker
    {
        get => !TryGetValue(HelixKeywords.ReplayWorker, out var value) || (string)value == "true";
        set => this[HelixKeywords.ReplayWorker] = value;
    }

    /// <summary>Gets or sets what happens to a write when a replay queue it needs is full (key <c>Replay Full</c>).</summary>
    /// <value>The default value is <see cref="HelixReplayFullPolicy.Resync"/>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayFull)]
    [DefaultValue(HelixReplayFullPolicy.Resync)]
    public HelixReplayFullPolicy ReplayFull
    {
        get => GetEnum(HelixKeywords.ReplayFull, HelixReplayFullPolicy.Resync);
        set => this[HelixKeywords.ReplayFull] = value.ToString();
    }

    /// <summary>Gets or sets how many entries the replay worker applies per batch (key <c>Replay Batch Size</c>).</summary>
    /// <value>The default value is 100.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayBatchSize)]
    [DefaultValue(HelixDefaults.ReplayBatchSize)]
    public int ReplayBatchSize
    {
        get => GetInt(HelixKeywords.ReplayBatchSize, HelixDefaults.ReplayBatchSize);
        set => this[HelixKeywords.ReplayBatchSize] = value;
    }

    /// <summary>Gets or sets after how many statement errors a replay entry is dead-lettered (key <c>Replay Max Attempts</c>).</summary>
    /// <value>The default value is 5.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayMaxAttempts)]
    [DefaultValue(HelixDefaults.ReplayMaxAttempts)]
    public int ReplayMaxAttempts
    {
        get => GetInt(HelixKeywords.ReplayMaxAttempts, HelixDefaults.ReplayMaxAttempts);
        set => this[HelixKeywords.ReplayMaxAttempts] = value;
    }

    /// <summary>Gets or sets in milliseconds, the first delay before the worker probes a failed strand again (key <c>Replay Backoff</c>).</summary>
    /// <value>The default value is 100 milliseconds.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayBackoff)]
    [DefaultValue(HelixDefaults.ReplayBackoffMilliseconds)]
    public int ReplayBackoff
    {
        get => GetInt(HelixKeywords.ReplayBackoff, HelixDefaults.ReplayBackoffMilliseconds);
        set => this[HelixKeywords.ReplayBackoff] = value;
    }

    /// <summary>Gets or sets in milliseconds, the longest delay between probes of a failed strand (key <c>Replay Backoff Max</c>).</summary>
    /// <value>The default value is 10000 milliseconds.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayBackoffMax)]
    [DefaultValue(HelixDefaults.ReplayBackoffMaxMilliseconds)]
    public int ReplayBackoffMax
    {
        get => GetInt(HelixKeywords.ReplayBackoffMax, HelixDefaults.ReplayBackoffMaxMilliseconds);
        set => this[HelixKeywords.ReplayBackoffMax] = value;
    }

    /// <summary>Gets or sets in milliseconds, how often the worker looks at a shared queue and probes a deferred strand (key <c>Replay Poll Interval</c>).</summary>
    /// <value>The default value is 1000 milliseconds.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayPollInterval)]
    [DefaultValue(HelixDefaults.ReplayPollIntervalMilliseconds)]
    public int ReplayPollInterval
    {
        get => GetInt(HelixKeywords.ReplayPollInterval, HelixDefaults.ReplayPollIntervalMilliseconds);
        set => this[HelixKeywords.ReplayPollInterval] = value;
    }

    /// <summary>Gets or sets in milliseconds, how long a write waits for a strand about to heal before it queues behind it (key <c>Healing Wait</c>).</summary>
    /// <value>The default value is 1000 milliseconds.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.HealingWait)]
    [DefaultValue(HelixDefaults.HealingWaitMilliseconds)]
    public int HealingWait
    {
        get => GetInt(HelixKeywords.HealingWait, HelixDefaults.HealingWaitMilliseconds);
        set => this[HelixKeywords.HealingWait] = value;
    }

    /// <summary>Gets or sets in seconds, after how long an intent counts as left by a process that died mid-write (key <c>In Doubt Timeout</c>).</summary>
    /// <value>The default value is 120 seconds.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.InDoubtTimeout)]
    [DefaultValue(HelixDefaults.InDoubtTimeoutSeconds)]
    public int InDoubtTimeout
    {
        get => GetInt(HelixKeywords.InDoubtTimeout, HelixDefaults.InDoubtTimeoutSeconds);
        set => this[HelixKeywords.InDoubtTimeout] = value;
    }

    /// <summary>Gets or sets the statement that probes a strand; <see langword="null"/> picks one for the provider (key <c>Probe Command</c>).</summary>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ProbeCommand)]
    [DefaultValue(null)]
    public string? ProbeCommand
    {
        get => GetString(HelixKeywords.ProbeCommand);
        set => SetOrRemove(HelixKeywords.ProbeCommand, value);
    }

    /// <summary>Gets or sets how many high-priority entries a durable queue hands out before a low-priority one (key <c>Replay Priority Ratio</c>).</summary>
    /// <value>The default value is 10.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayPriorityRatio)]
    [DefaultValue(HelixDefaults.ReplayPriorityRatio)]
    public int ReplayPriorityRatio
    {
        get => GetInt(HelixKeywords.ReplayPriorityRatio, HelixDefaults.ReplayPriorityRatio);
        set => this[HelixKeywords.ReplayPriorityRatio] = value;
    }

    /// <summary>Gets or sets whether low-priority entries wait until no high-priority entry does (key <c>Replay Strict Priority</c>).</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.ReplayStrictPriority)]
    [DefaultValue(false)]
    public bool ReplayStrictPriority
    {
        get => TryGetValue(HelixKeywords.ReplayStrictPriority, out var value) && (string)value == "true";
        set => this[HelixKeywords.ReplayStrictPriority] = value;
    }

    /// <summary>
    /// Gets or sets the NATS server whose key-value bucket drains strands across a fleet, <c>nats://host:port</c>
    /// (key <c>Drain Watch</c>; needs Helix.Data.Nats).
    /// </summary>
    [Category("Replay")]
    [DisplayName(HelixKeywords.DrainWatch)]
    [DefaultValue(null)]
    public string? DrainWatch
    {
        get => GetString(HelixKeywords.DrainWatch);
        set => SetOrRemove(HelixKeywords.DrainWatch, value);
    }

    /// <summary>Gets or sets the key-value bucket the drain watch reads (key <c>Drain Bucket</c>).</summary>
    /// <value>The default value is <c>helix-drain</c>.</value>
    [Category("Replay")]
    [DisplayName(HelixKeywords.DrainBucket)]
    [DefaultValue(HelixDefaults.DrainBucket)]
    public string DrainBucket
    {
        get => GetString(HelixKeywords.DrainBucket) ?? HelixDefaults.DrainBucket;
        set => this[HelixKeywords.DrainBucket] = value;
    }

    /// <summary>Gets or sets the names of the two strands used in logs and metrics, comma-separated (key <c>Strand Names</c>).</summary>
    /// <value>The default value is <c>primary,secondary</c>.</value>
    [Category("Strands")]
    [DisplayName(HelixKeywords.StrandNames)]
    [DefaultValue(HelixDefaults.StrandNames)]
    public string StrandNames
    {
        get => GetString(HelixKeywords.StrandNames) ?? HelixDefaults.StrandNames;
        set => this[HelixKeywords.StrandNames] = value;
    }

    /// <summary>Gets or sets the data source's name, which tags its metrics and traces (key <c>Name</c>).</summary>
    /// <value>The default value is <c>helix</c>.</value>
    [Category("Strands")]
    [DisplayName(HelixKeywords.Name)]
    [DefaultValue(HelixDefaults.Name)]
    public string Name
    {
        get => GetString(HelixKeywords.Name) ?? HelixDefaults.Name;
        set => this[HelixKeywords.Name] = value;
    }

    /// <summary>Gets or sets the value of a key. Helix keys are validated and stored under their canonical spaced name.</summary>
    /// <param name="keyword">A Helix key, one of its aliases, or a key passed to both inner connection strings.</param>
    /// <returns>The value, or <see langword="null"/> for a Helix key that is not set.</returns>
    [AllowNull]
    public override object this[string keyword]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(keyword);
            var canonical = HelixKeywords.ToCanonical(keyword);
            return canonical is null ? base[keyword] : TryGetValue(canonical, out var value) ? value : null!;
        }

        set
        {
            ArgumentNullException.ThrowIfNull(keyword);

            // DbConnectionStringBuilder reads "Helix;Provider=X" as one key "helix;provider": peel the marker off.
            var separator = keyword.IndexOf(';', StringComparison.Ordinal);
            if (separator >= 0 && string.Equals(keyword[..separator].Trim(), HelixKeywords.Marker, StringComparison.OrdinalIgnoreCase))
            {
                keyword = keyword[(separator + 1)..].Trim();
                if (keyword.Length == 0)
                {
                    return;
                }
            }

            if (string.Equals(keyword.Trim(), HelixKeywords.Marker, StringComparison.OrdinalIgnoreCase))
            {
                if (!string.IsNullOrEmpty(value as string))
                {
                    throw HelixKeywords.Missing(HelixKeywords.Marker, "The 'Helix' token marks a Helix connection string and takes no value; write 'Helix;' at the start.");
                }

                return;
            }

            var canonical = HelixKeywords.ToCanonical(keyword);
            if (value is null)
            {
                Remove(canonical ?? keyword);
                return;
            }

            if (canonical is null)
            {
                base[keyword] = value;
                return;
            }

            var normalized = HelixKeywords.Normalize(canonical, value);
            base.Remove(canonical); // an alias may be stored already; keep one spelling
            base[canonical] = normalized;
        }
    }

    /// <inheritdoc />
    public override bool ContainsKey(string keyword)
    {
        ArgumentNullException.ThrowIfNull(keyword);
        return base.ContainsKey(HelixKeywords.ToCanonical(keyword) ?? keyword);
    }

    /// <inheritdoc />
    public override bool Remove(string keyword)
    {
        ArgumentNullException.ThrowIfNull(keyword);
        return base.Remove(HelixKeywords.ToCanonical(keyword) ?? keyword);
    }

    /// <inheritdoc />
    public override bool ShouldSerialize(string keyword) => ContainsKey(keyword);

    /// <inheritdoc />
    public override bool TryGetValue(string keyword, [MaybeNullWhen(false)] out object value)
    {
        ArgumentNullException.ThrowIfNull(keyword);
        return base.TryGetValue(HelixKeywords.ToCanonical(keyword) ?? keyword, out value);
    }

    /// <summary>Returns the connection string with passwords and other secrets masked, inner strings included.</summary>
    /// <returns>A connection string safe to log.</returns>
    public override string ToString() => Redactor.Redact(ConnectionString);

    /// <summary>Enumerates the keys Helix does not own, which are passed to both inner connection strings.</summary>
    internal IEnumerable<KeyValuePair<string, object>> PassThroughEntries()
    {
        foreach (string key in Keys)
        {
            if (HelixKeywords.ToCanonical(key) is null)
            {
                yield return new(key, base[key]);
            }
        }
    }

    /// <summary>Removes a leading bare <c>Helix</c> token, which the base parser cannot read when it stands alone.</summary>
    internal static string StripMarker(string connectionString)
    {
        var text = connectionString.TrimStart();
        if (!text.StartsWith(HelixKeywords.Marker, StringComparison.OrdinalIgnoreCase))
        {
            return connectionString;
        }

        var rest = text[HelixKeywords.Marker.Length..].TrimStart();
        return rest.Length == 0 ? string.Empty : rest[0] == ';' ? rest[1..] : connectionString;
    }

    private string? GetString(string key) => TryGetValue(key, out var value) ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;

    private int GetInt(string key, int fallback) => TryGetValue(key, out var value) ? int.Parse((string)value, CultureInfo.InvariantCulture) : fallback;

    private TEnum GetEnum<TEnum>(string key, TEnum fallback)
        where TEnum : struct, Enum => TryGetValue(key, out var value) ? Enum.Parse<TEnum>((string)value) : fallback;

    private void SetOrRemove(string key, string? value)
    {
        if (value is null)
        {
            Remove(key);
        }
        else
        {
            this[key] = value;
        }
    }
}
