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

    public void OnReplayed(ILogger logger, Func<HelixReplayEvent> replayed) => Raise(Replayed, nameof(HelixDataSourceBuilder.OnReplayed), logger, replayed);

    public void OnFailed(ILogger logger, Func<HelixReplayEvent> failed) => Raise(Failed, nameof(HelixDataSourceBuilder.OnReplayFailed), logger, failed);

    public void OnDeadLettered(ILogger logger, Func<HelixReplayEvent> deadLettered) => Raise(DeadLettered, nameof(HelixDataSourceBuilder.OnDeadLettered), logger, deadLettered);

    private static void Raise(Action<HelixReplayEvent>? hook, string name, ILogger logger, Func<HelixReplayEvent> make)
    {
        if (hook is null)
        {
            return;
        }

        var replayEvent = make();
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
