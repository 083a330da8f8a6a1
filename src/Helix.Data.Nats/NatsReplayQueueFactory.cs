using Helix.Data.Replay;

namespace Helix.Data.Nats;

/// <summary>Makes the <see cref="NatsReplayQueue"/> of <c>Replay=nats://host:port</c>; Helix finds it by assembly name.</summary>
public sealed class NatsReplayQueueFactory : IHelixReplayQueueFactory
{
    /// <inheritdoc />
    public HelixReplayQueue Create(string location, HelixConnectionStringBuilder settings) => new NatsReplayQueue(location);
}
