using System.ComponentModel;
using Helix.Data.Internal;

namespace Helix.Data;

/// <content>The keys that ride out a strand's blips and slow moments: strand retries and hedged reads.</content>
public sealed partial class HelixConnectionStringBuilder
{
    /// <summary>
    /// Gets or sets how many times a strand fault is retried on the same strand before Helix treats the strand as failed
    /// (key <c>Strand Retry</c>); 0 turns retries off. Reads are retried on any strand fault; writes only when the fault
    /// proves the strand did not apply them (see docs/strategies.md). Never inside a transaction.
    /// </summary>
    /// <value>The default value is 1.</value>
    [Category("Resilience")]
    [DisplayName(HelixKeywords.StrandRetry)]
    [DefaultValue(HelixDefaults.StrandRetry)]
    public int StrandRetry
    {
        get => GetInt(HelixKeywords.StrandRetry, HelixDefaults.StrandRetry);
        set => this[HelixKeywords.StrandRetry] = value;
    }

    /// <summary>
    /// Gets or sets, in milliseconds, the least wait before a strand retry (key <c>Strand Retry Delay</c>); each wait is
    /// drawn at random between it and 2.5 times it, so that callers that met the same blip do not retry together.
    /// </summary>
    /// <value>The default value is 20 milliseconds (waits of 20 to 50 ms).</value>
    [Category("Resilience")]
    [DisplayName(HelixKeywords.StrandRetryDelay)]
    [DefaultValue(HelixDefaults.StrandRetryDelayMilliseconds)]
    public int StrandRetryDelay
    {
        get => GetInt(HelixKeywords.StrandRetryDelay, HelixDefaults.StrandRetryDelayMilliseconds);
        set => this[HelixKeywords.StrandRetryDelay] = value;
    }

    /// <summary>
    /// Gets or sets when an asynchronous read not yet answered is also sent to the other healthy strand (key
    /// <c>Hedge After</c>): <c>Off</c>, <c>Auto</c> (after the strand's recent 95th-percentile read time) or a whole number
    /// of milliseconds. The first strand to answer serves the read; the other's command is cancelled. Never writes, never
    /// inside a transaction.
    /// </summary>
    /// <value>The default value is <c>Off</c>.</value>
    [Category("Resilience")]
    [DisplayName(HelixKeywords.HedgeAfter)]
    [DefaultValue(HelixDefaults.HedgeAfter)]
    public string HedgeAfter
    {
        get => TryGetValue(HelixKeywords.HedgeAfter, out var value) ? (string)value : HelixDefaults.HedgeAfter;
        set => this[HelixKeywords.HedgeAfter] = value;
    }
}
