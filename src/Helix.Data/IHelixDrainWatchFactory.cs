namespace Helix.Data;

/// <summary>
/// Makes the drain watch a <c>Drain Watch=</c> value names. Helix.Data.Nats provides one for <c>nats://</c>; Helix
/// finds it by assembly name when the application references the package.
/// </summary>
public interface IHelixDrainWatchFactory
{
    /// <summary>Makes the watch.</summary>
    /// <param name="location">The value of the <c>Drain Watch</c> key.</param>
    /// <param name="settings">The whole connection string, for settings such as <c>Drain Bucket</c>.</param>
    /// <returns>The watch; the data source disposes it.</returns>
    HelixDrainWatch Create(string location, HelixConnectionStringBuilder settings);
}
