namespace Helix.Data.Replay;

/// <summary>A replay entry that could not be applied and was set aside, with the reason.</summary>
/// <param name="Entry">The entry.</param>
/// <param name="Reason">Why it was set aside, without secrets.</param>
/// <param name="At">When it was set aside.</param>
public sealed record HelixDeadLetter(HelixReplayEntry Entry, string Reason, DateTimeOffset At);

/// <summary>The audit record of a dead letter an operator discarded.</summary>
/// <param name="Letter">The dead letter as it was.</param>
/// <param name="Reason">Why the operator discarded it.</param>
/// <param name="By">Who did.</param>
/// <param name="At">When.</param>
public sealed record HelixDiscardedDeadLetter(HelixDeadLetter Letter, string Reason, string By, DateTimeOffset At);
