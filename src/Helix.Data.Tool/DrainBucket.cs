using Helix.Data.Nats;
using NATS.Client.Core;

namespace Helix.Data.Tool;

/// <summary>The drain bucket the connection string's <c>Drain Watch</c> names, for the tool's drain, status and resync (its URL may hold a password: never printed).</summary>
internal sealed class DrainBucket(NatsConnection connection, NatsDrainWatchOptions options) : IAsyncDisposable
{
    public NatsConnection Connection => connection;

    public NatsDrainWatchOptions Options => options;

    /// <summary>The bucket, or <see langword="null"/> when the connection string has no drain watch.</summary>
    public static DrainBucket? Open(HelixConnectionStringBuilder settings) =>
        settings.DrainWatch is { } url
            ? new DrainBucket(new NatsConnection(new NatsOpts { Url = url, Name = "helix-tool" }), new NatsDrainWatchOptions { Bucket = settings.DrainBucket })
            : null;

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
