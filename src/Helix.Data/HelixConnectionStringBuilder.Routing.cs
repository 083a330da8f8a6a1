using System.ComponentModel;
using Helix.Data.Internal;

namespace Helix.Data;

/// <content>The keys that route reads and writes: read strategy, failover and circuits, stale reads, write strategy and order.</content>
public sealed partial class HelixConnectionStringBuilder
{
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

    /// <summary>
    /// Gets or sets what a write does whose text calls a function each database evaluates for itself, such as
    /// <c>now()</c> or <c>gen_random_uuid()</c> (key <c>Nondeterministic Writes</c>): see <see cref="HelixNondeterministicWrites"/>.
    /// </summary>
    /// <value>The default value is <see cref="HelixNondeterministicWrites.Warn"/>: the write runs, and its text is logged once as a warning.</value>
    [Category("Writes")]
    [DisplayName(HelixKeywords.NondeterministicWrites)]
    [DefaultValue(HelixNondeterministicWrites.Warn)]
    public HelixNondeterministicWrites NondeterministicWrites
    {
        get => GetEnum(HelixKeywords.NondeterministicWrites, HelixNondeterministicWrites.Warn);
        set => this[HelixKeywords.NondeterministicWrites] = value.ToString();
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
}
