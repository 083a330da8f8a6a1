namespace Helix.Data.Replay;

/// <summary>A replay entry that could not be applied and was set aside, with the reason.</summary>
/// <param name="Entry">The entry.</param>
/// <param name="Reason">Why it was set aside, without secrets.</param>
/// <param name="At">When it was set aside.</param>
public sealed record HelixDeadLetter(HelixReplayEntry Entry, string Reason, DateTimeOffset At);
