namespace Helix.Data.Strategies;

/// <summary>How the strands that take a write directly run it.</summary>
public enum HelixWriteOrder
{
    /// <summary>
    /// All at once, waiting for all. Asynchronous calls run the strands concurrently; synchronous calls run them one
    /// after the other, primary first, on the calling thread.
    /// </summary>
    Concurrent = 0,

    /// <summary>The primary, then the secondary.</summary>
    PrimaryFirst = 1,

    /// <summary>The secondary, then the primary.</summary>
    SecondaryFirst = 2,
}
