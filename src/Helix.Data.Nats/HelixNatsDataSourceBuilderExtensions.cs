using Helix.Data.Nats;
using NATS.Client.Core;

// ReSharper disable once CheckNamespace: the extension shows up where the builder is used, without another using.
namespace Helix.Data;

/// <summary>Configures a <see cref="HelixDataSourceBuilder"/> to keep its replay entries on NATS JetStream and to watch drains in a NATS bucket.</summary>
public static class HelixNatsDataSourceBuilderExtensions
{
    /// <summary>Keeps replay entries in a JetStream stream on an existing NATS connection.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connection">The connection; the application owns it and disposes it after the data source.</param>
    /// <param name="configure">Changes the stream, subject and consumer settings.</param>
    /// <returns>The builder, so that method calls can be chained.</returns>
    public static HelixDataSourceBuilder UseNatsReplay(this HelixDataSourceBuilder builder, NatsConnection connection, Action<NatsReplayQueueOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new NatsReplayQueueOptions();
        configure?.Invoke(options);
        return builder.UseReplayQueue(new NatsReplayQueue(connection, options));
    }

    /// <summary>Drains and undrains strands on the word of a NATS key-value bucket, on an existing connection.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connection">The connection; the application owns it and disposes it after the data source.</param>
    /// <param name="configure">Changes the bucket and key prefix.</param>
    /// <returns>The builder, so that method calls can be chained.</returns>
    public static HelixDataSourceBuilder UseNatsDrainWatch(this HelixDataSourceBuilder builder, NatsConnection connection, Action<NatsDrainWatchOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new NatsDrainWatchOptions();
        configure?.Invoke(options);
        return builder.UseDrainWatch(new NatsDrainWatch(connection, options));
    }
}
