namespace Helix.Data.Nats;

/// <summary>Makes the <see cref="NatsDrainWatch"/> of <c>Drain Watch=nats://host:port</c>; Helix finds it by assembly name.</summary>
public sealed class NatsDrainWatchFactory : IHelixDrainWatchFactory
{
    /// <inheritdoc />
    public HelixDrainWatch Create(string location, HelixConnectionStringBuilder settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new NatsDrainWatch(location, new NatsDrainWatchOptions { Bucket = settings.DrainBucket });
    }
}
