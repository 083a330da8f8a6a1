namespace Helix.Data.Nats;

/// <summary>A key in force in the drain bucket (<see cref="NatsDrainWatch.GetDrainsAsync"/>).</summary>
/// <param name="StrandName">The strand it concerns, by name.</param>
/// <param name="Reason">The key's value: why.</param>
/// <param name="IsResync">Whether it is a resynchronisation key (<c>{strand}.resync</c>) rather than a drain.</param>
public sealed record NatsDrainEntry(string StrandName, string Reason, bool IsResync);
