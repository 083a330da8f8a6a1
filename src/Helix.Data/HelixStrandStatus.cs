namespace Helix.Data;

/// <summary>A snapshot of one strand's state, as <see cref="HelixDataSource.GetStatus"/> reports it.</summary>
/// <param name="Strand">Which strand.</param>
/// <param name="Name">The strand's name from <c>Strand Names</c>, used in logs and metrics.</param>
/// <param name="State">The strand's state.</param>
/// <param name="Backlog">How many replay entries wait for the strand.</param>
/// <param name="LastError">The last strand fault, without secrets, or <see langword="null"/>.</param>
/// <param name="LastErrorAt">When the last strand fault happened, or <see langword="null"/>.</param>
/// <param name="DrainReason">Why an operator drained the strand, while it is <see cref="HelixStrandState.Draining"/>.</param>
public sealed record HelixStrandStatus(
    HelixStrand Strand,
    string Name,
    HelixStrandState State,
    long Backlog,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    string? DrainReason)
{
    /// <summary>Gets why the write strategy deferred the strand (its writes go through replay), or <see langword="null"/>.</summary>
    public string? DeferReason { get; init; }

    /// <summary>Gets a value indicating whether the write strategy deferred the strand.</summary>
    public bool IsDeferred => DeferReason is not null;

    /// <summary>
    /// Gets why the strand left service, while it is <see cref="HelixStrandState.OutOfSync"/> or being resynchronised,
    /// or <see langword="null"/>.
    /// </summary>
    public string? OutOfSyncReason { get; init; }

    /// <summary>Gets the state of the strand's read circuit, from the failover policy.</summary>
    public Strategies.HelixCircuitState Circuit { get; init; }
}
