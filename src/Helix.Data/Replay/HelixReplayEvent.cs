namespace Helix.Data.Replay;

/// <summary>
/// What the replay worker did with entries of one strand, passed to the hooks registered with
/// <see cref="HelixDataSourceBuilder.OnReplayed"/>, <see cref="HelixDataSourceBuilder.OnReplayFailed"/> and
/// <see cref="HelixDataSourceBuilder.OnDeadLettered"/>.
/// </summary>
public sealed class HelixReplayEvent
{
    internal HelixReplayEvent(HelixStrand strand, string strandName, IReadOnlyList<HelixReplayEntry> entries, TimeSpan elapsed, Exception? error = null, bool isStrandFault = false, string? reason = null)
    {
        Strand = strand;
        StrandName = strandName;
        Entries = entries;
        Elapsed = elapsed;
        Error = error;
        IsStrandFault = isStrandFault;
        Reason = reason;
    }

    /// <summary>Gets the strand the entries were for.</summary>
    public HelixStrand Strand { get; }

    /// <summary>Gets the strand's name, as in metrics and logs.</summary>
    public string StrandName { get; }

    /// <summary>Gets the entries: those applied, those given back after a fault, or the one refused or dead-lettered.</summary>
    public IReadOnlyList<HelixReplayEntry> Entries { get; }

    /// <summary>Gets how long the attempt took.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Gets what the strand raised, for a failed attempt or a dead letter; <see langword="null"/> when applied.</summary>
    public Exception? Error { get; }

    /// <summary>
    /// Gets a value indicating whether the failure was a strand fault (the entries wait, in order, for the strand to come
    /// back; no attempt is counted) rather than a statement error (the entry's attempt is counted).
    /// </summary>
    public bool IsStrandFault { get; }

    /// <summary>Gets why an entry was dead-lettered; <see langword="null"/> otherwise.</summary>
    public string? Reason { get; }
}
