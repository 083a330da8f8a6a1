namespace Helix.Data.Replay;

/// <summary>
/// Makes the replay queue that a <c>Replay=</c> value names. Helix.Data.Nats provides one for <c>nats://</c> and
/// Helix.Data.FileReplay one for <c>file:</c>; Helix finds them by assembly name when the application references
/// the package.
/// </summary>
public interface IHelixReplayQueueFactory
{
    /// <summary>Makes the queue.</summary>
    /// <param name="location">The value of the <c>Replay</c> key (<c>nats://host:port</c>, or the path after <c>file:</c>).</param>
    /// <param name="settings">The whole connection string, for settings such as <c>Replay Capacity</c>.</param>
    /// <returns>The queue; the data source disposes it.</returns>
    HelixReplayQueue Create(string location, HelixConnectionStringBuilder settings);
}
