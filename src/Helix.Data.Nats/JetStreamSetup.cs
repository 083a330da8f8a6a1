using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace Helix.Data.Nats;

/// <summary>
/// Opens the streams and buckets a fleet shares, so that processes starting together all succeed.
/// </summary>
/// <remarks>
/// NATS.Net's <c>CreateOrUpdate…</c> sends an update and creates the stream when the update finds none. Processes
/// starting together on a new stream all find none: the server creates it for the first and refuses the others ("subjects
/// overlap with an existing stream"), and an update that reaches the server while the stream is being created crashed
/// nats-server 2.9 (a nil dereference in <c>updateWithAdvisory</c>, seen here with eight processes). Creating first
/// avoids both: the server answers a creation of a stream that exists with the same settings with that stream, so only a
/// stream whose settings changed is updated. That answer can come while the first process's creation is still under
/// way, before the stream takes messages (a publish then finds no responders), so opening also waits until it does.
/// </remarks>
internal static class JetStreamSetup
{
    /// <summary>JetStream's "stream name already in use with a different configuration".</summary>
    private const int StreamNameInUse = 10058;

    /// <summary>JetStream's "subjects overlap with an existing stream".</summary>
    private const int SubjectsOverlap = 10065;

    /// <summary>Not a valid stream name (it holds a dot), so a publish expecting it is refused by whichever stream takes it.</summary>
    private const string NoStream = "helix.probe";

    /// <summary>JetStream's "expected stream does not match".</summary>
    private const int StreamNotMatch = 10060;

    /// <summary>How long a new stream may take to take messages: 40 tries, 50 ms apart.</summary>
    private static readonly NatsJSPubOpts Probe = new() { ExpectedStream = NoStream, RetryAttempts = 40, RetryWaitBetweenAttempts = TimeSpan.FromMilliseconds(50) };

    /// <summary>Creates the stream, or updates it where it exists with other settings; returns once it takes messages on <paramref name="subject"/>.</summary>
    public static async ValueTask OpenStreamAsync(INatsJSContext js, StreamConfig config, string subject, CancellationToken cancellationToken)
    {
        await OpenAsync(ct => js.CreateStreamAsync(config, ct), ct => js.CreateOrUpdateStreamAsync(config, ct), cancellationToken).ConfigureAwait(false);
        await WaitUntilTakingMessagesAsync(js, config.Name!, subject, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates the key-value bucket, or updates it where it exists with other settings; returns once it takes values.</summary>
    public static async ValueTask<INatsKVStore> OpenBucketAsync(INatsJSContext js, NatsKVConfig config, CancellationToken cancellationToken)
    {
        var kv = new NatsKVContext(js);
        var store = await OpenAsync(ct => kv.CreateStoreAsync(config, ct), ct => kv.CreateOrUpdateStoreAsync(config, ct), cancellationToken).ConfigureAwait(false);
        await WaitUntilTakingMessagesAsync(js, "KV_" + config.Bucket, $"$KV.{config.Bucket}.helix-probe", cancellationToken).ConfigureAwait(false);
        return store;
    }

    private static async ValueTask<T> OpenAsync<T>(Func<CancellationToken, ValueTask<T>> create, Func<CancellationToken, ValueTask<T>> createOrUpdate, CancellationToken cancellationToken)
    {
        try
        {
            return await create(cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.ErrCode is StreamNameInUse or SubjectsOverlap)
        {
            // Its settings differ from ours, or another process is creating it right now: an update settles either.
            return await createOrUpdate(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Publishes to the stream a message it must refuse (it expects another stream), which it answers once it takes
    /// messages; NATS.Net publishes again while nothing answers.
    /// </summary>
    private static async ValueTask WaitUntilTakingMessagesAsync(INatsJSContext js, string stream, string subject, CancellationToken cancellationToken)
    {
        var result = await js.TryPublishAsync(subject, Array.Empty<byte>(), opts: Probe, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!result.Success || result.Value.Error is not { ErrCode: StreamNotMatch })
        {
            throw new InvalidOperationException(
                $"JetStream stream '{stream}' was created but did not take messages on '{subject}' within {Probe.RetryAttempts * Probe.RetryWaitBetweenAttempts.TotalSeconds:0.#} s: "
                + (result.Success ? result.Value.Error?.Description ?? "it stored the probe" : result.Error.Message));
        }
    }
}
