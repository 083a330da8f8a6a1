namespace Helix.Data;

/// <summary>How a write is executed on the strands (connection-string key <c>Write Strategy</c>).</summary>
public enum HelixWriteStrategy
{
    /// <summary>
    /// Start the write on every healthy strand at once and wait for all of them. Asynchronous calls run the strands
    /// concurrently; synchronous calls run them one after the other, primary first, on the calling thread.
    /// </summary>
    Concurrent = 0,

    /// <summary>Write to one strand, then to the other (primary first unless configured otherwise).</summary>
    Sequential = 1,

    /// <summary>
    /// Like <see cref="Concurrent"/>, but a strand that is consistently slower than its sibling is switched to
    /// asynchronous mode, in which its writes go through the ordered replay path.
    /// </summary>
    Adaptive = 2,
}
