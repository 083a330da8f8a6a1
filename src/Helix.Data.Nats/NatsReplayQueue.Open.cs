using Helix.Data.Replay;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace Helix.Data.Nats;

/// <content>Opening: the stream, one durable consumer per strand and priority, the intents bucket, and the backlog counts.</content>
public sealed partial class NatsReplayQueue
{
    /// <inheritdoc />
    protected override async ValueTask OpenAsync(HelixReplayContext context, CancellationToken cancellationToken)
    {
        _strandNames = [.. context.StrandNames];
        var js = new NatsJSContext(_connection);
        var stream = new StreamConfig(_options.StreamName, [_options.SubjectPrefix + ".>"])
        {
            Retention = StreamConfigRetention.Workqueue,
            Storage = StreamConfigStorage.File,
            MaxAge = _options.MaxAge,
            MaxMsgs = _options.MaxMessages,
            MaxBytes = _options.MaxBytes,
            NumReplicas = _options.Replicas,
            DuplicateWindow = _options.DuplicateWindow,
            Description = "Helix.Data replay entries",
        };
        await JetStreamSetup.OpenStreamAsync(js, stream, _options.SubjectPrefix + ".helix-probe", cancellationToken).ConfigureAwait(false);

        var consumers = await CreateConsumersAsync(js, context.RunsWorker, cancellationToken).ConfigureAwait(false);
        var intents = new NatsKVConfig(_options.StreamName + "-intents") { History = 1, Storage = NatsKVStorageType.File, NumberOfReplicas = _options.Replicas, Description = "Helix.Data writes in flight while a strand is behind" };
        _intents = await JetStreamSetup.OpenBucketAsync(js, intents, cancellationToken).ConfigureAwait(false);
        _js = js;
        _consumers = consumers;
        for (var strand = 0; strand < _strandNames.Length; strand++)
        {
            await RefreshBacklogAsync(strand, cancellationToken).ConfigureAwait(false);
        }

        _ready.TrySetResult();
    }

    /// <summary>
    /// Creates (or finds) the durable consumers, one per strand and priority. A worker's consumer that holds entries a
    /// previous worker did not acknowledge is made anew, so that they come back first, in order.
    /// </summary>
    private async ValueTask<INatsJSConsumer[][]> CreateConsumersAsync(NatsJSContext js, bool runsWorker, CancellationToken cancellationToken)
    {
        var consumers = new INatsJSConsumer[_strandNames.Length][];
        for (var strand = 0; strand < _strandNames.Length; strand++)
        {
            consumers[strand] = new INatsJSConsumer[2];
            foreach (var priority in new[] { HelixReplayPriority.High, HelixReplayPriority.Low })
            {
                var config = new ConsumerConfig($"{_options.ConsumerPrefix}-{_strandNames[strand]}-{Name(priority)}")
                {
                    FilterSubject = Subject(priority, strand),
                    AckPolicy = ConsumerConfigAckPolicy.Explicit,
                    AckWait = _options.AckWait,
                    MaxDeliver = -1,
                    DeliverPolicy = ConsumerConfigDeliverPolicy.All,
                };
                if (_options.MaxAckPending is { } pending)
                {
                    config.MaxAckPending = pending;
                }

                var consumer = await js.CreateOrUpdateConsumerAsync(_options.StreamName, config, cancellationToken).ConfigureAwait(false);
                if (runsWorker && consumer.Info.NumAckPending > 0)
                {
                    // A worker that ended held entries it had not acknowledged. Redelivery of those would only come
                    // after the ack wait, behind newer entries; a fresh consumer delivers every remaining entry (the
                    // work-queue stream keeps only the unacknowledged ones) from the oldest, in order.
                    await js.DeleteConsumerAsync(_options.StreamName, config.DurableName!, cancellationToken).ConfigureAwait(false);
                    consumer = await js.CreateOrUpdateConsumerAsync(_options.StreamName, config, cancellationToken).ConfigureAwait(false);
                }

                consumers[strand][(int)priority] = consumer;
            }
        }

        return consumers;
    }
}
