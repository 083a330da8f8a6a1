using Helix.Data.Internal;

namespace Helix.Data.Nats;

/// <summary>Settings of a <see cref="NatsReplayQueue"/>: its stream, subjects, consumers and priority scheduling.</summary>
public sealed class NatsReplayQueueOptions
{
    /// <summary>Gets or sets the name of the JetStream stream, created or updated at start.</summary>
    /// <value>The default value is <c>helix-replay</c>.</value>
    public string StreamName { get; set; } = "helix-replay";

    /// <summary>
    /// Gets or sets the subject prefix. Entries go to <c>{prefix}.{high|low}.{strand name}</c> and dead letters to
    /// <c>{prefix}.dead.{strand name}</c>.
    /// </summary>
    /// <value>The default value is <c>helix.replay</c>.</value>
    public string SubjectPrefix { get; set; } = "helix.replay";

    /// <summary>Gets or sets how long the stream keeps an entry; <see cref="TimeSpan.Zero"/> keeps it until it is applied.</summary>
    /// <value>The default value is 7 days.</value>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Gets or sets how many entries the stream holds; -1 sets no limit.</summary>
    /// <value>The default value is -1.</value>
    public long MaxMessages { get; set; } = -1;

    /// <summary>Gets or sets how many bytes the stream holds; -1 sets no limit.</summary>
    /// <value>The default value is -1.</value>
    public long MaxBytes { get; set; } = -1;

    /// <summary>Gets or sets how many servers of a NATS cluster keep a copy of the stream.</summary>
    /// <value>The default value is 1.</value>
    public int Replicas { get; set; } = 1;

    /// <summary>Gets or sets for how long JetStream recognizes a republished entry by its id and stores it once.</summary>
    /// <value>The default value is 2 minutes.</value>
    public TimeSpan DuplicateWindow { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Gets or sets the prefix of the durable consumers' names: <c>{prefix}-{strand name}-{high|low}</c>.</summary>
    /// <value>The default value is <c>helix-replay</c>.</value>
    public string ConsumerPrefix { get; set; } = "helix-replay";

    /// <summary>Gets or sets how long the server waits for the worker to acknowledge an entry before delivering it again.</summary>
    /// <value>The default value is 5 minutes.</value>
    public TimeSpan AckWait { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Gets or sets how many entries the server hands a strand's consumer before they are acknowledged, or
    /// <see langword="null"/> for the server's default (1,000): back-pressure for workers that read faster than they apply.
    /// Entries are never dropped for being delivered often (<c>MaxDeliver</c> is unlimited): a strand fault gives them back.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public int? MaxAckPending { get; set; }

    /// <summary>Gets or sets how many high-priority batches are read in a row before a waiting low-priority batch gets its turn.</summary>
    /// <value>The default value is 10.</value>
    public int PriorityRatio { get; set; } = HelixDefaults.ReplayPriorityRatio;

    /// <summary>Gets or sets a value indicating whether low-priority entries wait until no high-priority entry does.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool StrictPriority { get; set; }

    /// <summary>Gets or sets how long an enqueue waits for the queue to be initialized and for the publish acknowledgment.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal NatsReplayQueueOptions Validated()
    {
        if (string.IsNullOrWhiteSpace(StreamName) || string.IsNullOrWhiteSpace(SubjectPrefix) || string.IsNullOrWhiteSpace(ConsumerPrefix))
        {
            throw new ArgumentException("NATS replay options need a stream name, a subject prefix and a consumer prefix.");
        }

        if (MaxAckPending < 1)
        {
            throw new ArgumentException($"NATS replay options need MaxAckPending ≥ 1, or null for the server's default (got {MaxAckPending}).");
        }

        if (PriorityRatio < 1 || Replicas < 1 || AckWait <= TimeSpan.Zero || PublishTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"NATS replay options need PriorityRatio ≥ 1, Replicas ≥ 1, AckWait > 0 and PublishTimeout > 0 (got {PriorityRatio}, {Replicas}, {AckWait}, {PublishTimeout}).");
        }

        return (NatsReplayQueueOptions)MemberwiseClone();
    }
}
