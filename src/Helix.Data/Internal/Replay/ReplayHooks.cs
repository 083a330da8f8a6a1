using Helix.Data.Logging;
using Helix.Data.Replay;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal.Replay;

/// <summary>
/// The application's replay hooks (<see cref="HelixDataSourceBuilder.OnReplayed"/> and the others). A hook that throws
/// is logged and the worker goes on: the entries' fate does not depend on it.
/// </summary>
internal sealed record ReplayHooks(Action<HelixReplayEvent>? Replayed, Action<HelixReplayEvent>? Failed, Action<HelixReplayEvent>? DeadLettered)
{
    public static readonly ReplayHooks None = new(null, null, null);

    public void OnReplayed(ILogger logger, Strand strand, IReadOnlyList<HelixReplayEntry> entries, TimeSpan elapsed)
    {
        if (Replayed is { } hook)
        {
            Raise(hook, nameof(HelixDataSourceBuilder.OnReplayed), logger, new(strand.Id, strand.Name, entries, elapsed));
        }
    }

    public void OnFailed(ILogger logger, Strand strand, IReadOnlyList<HelixReplayEntry> entries, TimeSpan elapsed, Exception error, bool isStrandFault)
    {
        if (Failed is { } hook)
        {
            Raise(hook, nameof(HelixDataSourceBuilder.OnReplayFailed), logger, new(strand.Id, strand.Name, entries, elapsed, error, isStrandFault));
        }
    }

    public void OnDeadLettered(ILogger logger, Strand strand, HelixReplayEntry entry, TimeSpan elapsed, Exception error, string reason)
    {
        if (DeadLettered is { } hook)
        {
            Raise(hook, nameof(HelixDataSourceBuilder.OnDeadLettered), logger, new(strand.Id, strand.Name, [entry], elapsed, error, reason: reason));
        }
    }

    private static void Raise(Action<HelixReplayEvent> hook, string name, ILogger logger, HelixReplayEvent replayEvent)
    {
        try
        {
            hook(replayEvent);
        }
#pragma warning disable CA1031 // an application's hook must not stop the worker; what it threw is logged
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.ReplayHookFailed(logger, e, name, replayEvent.StrandName);
        }
    }
}
