namespace Helix.Data;

/// <summary>
/// Drains and undrains strands of a data source on an operator's word from outside the process, so that one command
/// drains a strand across a fleet. Helix.Data.Nats provides one that watches a NATS key-value bucket
/// (<c>Drain Watch=nats://host:port</c>).
/// </summary>
/// <remarks>
/// The data source starts the watch once it is built and disposes it with itself. A watch calls
/// <see cref="HelixDataSource.Drain"/> and <see cref="HelixDataSource.Undrain"/>; it shares that state with the API, so an
/// undrain from the watch ends a drain made through the API too.
/// </remarks>
public abstract class HelixDrainWatch : IAsyncDisposable
{
    /// <summary>Starts watching for the data source; returns at once, and keeps watching (and reconnecting) in the background.</summary>
    /// <param name="dataSource">The data source whose strands the watch drains.</param>
    public abstract void Start(HelixDataSource dataSource);

    /// <summary>Stops watching.</summary>
    /// <returns>A task that completes when the watch has stopped.</returns>
    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return DisposeAsyncCore();
    }

    /// <summary>Stops watching; derived classes release what they hold.</summary>
    /// <returns>A task that completes when the watch has stopped.</returns>
    protected abstract ValueTask DisposeAsyncCore();
}
