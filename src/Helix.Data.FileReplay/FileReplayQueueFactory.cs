using Helix.Data.Replay;

namespace Helix.Data.FileReplay;

/// <summary>Makes the <see cref="FileReplayQueue"/> of <c>Replay=file:path</c>; Helix finds it by assembly name.</summary>
public sealed class FileReplayQueueFactory : IHelixReplayQueueFactory
{
    /// <inheritdoc />
    public HelixReplayQueue Create(string location, HelixConnectionStringBuilder settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new FileReplayQueue(location, new FileReplayQueueOptions { Capacity = settings.ReplayCapacity, PriorityRatio = settings.ReplayPriorityRatio, StrictPriority = settings.ReplayStrictPriority });
    }
}
