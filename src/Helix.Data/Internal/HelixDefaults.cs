namespace Helix.Data.Internal;

/// <summary>Default values of the options, in one place so that docs, builders and parsers agree.</summary>
internal static class HelixDefaults
{
    public const int StickyCooldownSeconds = 300;
    public const int CircuitThreshold = 3;
    public const int CircuitResetSeconds = 30;
    public const int LatencyCapMilliseconds = 2000;
    public const int ReplayCapacity = 10_000;
    public const string StrandNames = "primary,secondary";
    public const int DeadLetterRetention = 1_000;
    public const int CommandTimeoutSeconds = 30;
}
