namespace Helix.Data;

/// <summary>When reads of <see cref="HelixReadStrategy.PrimaryOnly"/> return to the primary after a failover (connection-string key <c>Failback</c>).</summary>
public enum HelixFailback
{
    /// <summary>As soon as the primary can serve reads again: it is healthy, so it holds every acknowledged write.</summary>
    Automatic = 0,

    /// <summary>Only when <see cref="Strategies.PrimaryOnlyReadStrategy.Reset"/> is called.</summary>
    Manual = 1,
}
