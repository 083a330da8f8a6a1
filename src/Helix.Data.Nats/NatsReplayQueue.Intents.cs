using Helix.Data.Replay;
using NATS.Client.KeyValueStore;

namespace Helix.Data.Nats;

/// <content>
/// Intents: writes in flight while a strand is behind, kept in a key-value bucket until their entries are stored, and
/// turned into entries when the process that recorded them died before it could.
/// </content>
public sealed partial class NatsReplayQueue
{
    /// <inheritdoc />
    /// <exception cref="TimeoutException">The intent was not stored within the publish timeout.</exception>
    public override async ValueTask RecordIntentAsync(Guid intentId, IReadOnlyList<HelixReplayEntry> entries, CancellationToken cancellationToken = default)
    {
        var data = HelixReplaySerializer.SerializeMany(entries);
        var value = new byte[8 + data.Length];
        BitConverter.TryWriteBytes(value, TimeProvider.GetUtcNow().UtcTicks);
        data.CopyTo(value, 8);
        await WithinPublishTimeoutAsync("store the intent", token => _intents!.PutAsync(intentId.ToString("N"), value, cancellationToken: token), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="TimeoutException">The intent was not removed within the publish timeout.</exception>
    public override async ValueTask ForgetIntentAsync(Guid intentId, CancellationToken cancellationToken = default) =>
        await WithinPublishTimeoutAsync(
            "forget the intent",
            async token =>
            {
                await _intents!.PurgeAsync(intentId.ToString("N"), cancellationToken: token).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public override async ValueTask<int> PromoteAbandonedIntentsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken = default)
    {
        await _ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        var keys = new List<string>();
        try
        {
            await foreach (var key in _intents!.GetKeysAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                keys.Add(key);
            }
        }
        catch (NatsKVException)
        {
            return 0; // no key yet
        }

        var promoted = 0;
        foreach (var key in keys)
        {
            var found = await _intents.TryGetEntryAsync<byte[]>(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!found.Success || found.Value.Value is not { Length: > 8 } value || BitConverter.ToInt64(value, 0) >= olderThan.UtcTicks)
            {
                continue;
            }

            // Published with their ids as message ids: promoting the same intent twice stores its entries once.
            foreach (var entry in Context.DeserializeMany(value.AsMemory(8)))
            {
                await EnqueueAsync(entry, cancellationToken).ConfigureAwait(false);
            }

            await _intents.PurgeAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            promoted++;
        }

        return promoted;
    }
}
