using Helix.Data.Logging;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal.Replay;

/// <summary>
/// What disposing a data source does with the writes its own in-process queue (<c>Replay=Memory</c>) still holds for a
/// strand, which end with the process (contract amendment 42): it waits, at most
/// <see cref="Helix.Data.Replay.HelixReplayOptions.DrainOnDispose"/>, while a strand with a backlog can take it (Healthy
/// or catching up), and logs what is left as lost, with the fix.
/// </summary>
internal static class UnreplayedWrites
{
    /// <summary>Gets whether the data source's writes for a strand behind live only in this process: its own queue, not durable, applied by its worker.</summary>
    public static bool EndWithTheProcess(HelixDataSourceConfiguration configuration) =>
        configuration is { OwnsReplayQueue: true, ReplayWorker: true, ReplayQueue.IsDurable: false };

    public static async Task DrainAsync(Strand[] strands, TimeSpan limit)
    {
        if (limit <= TimeSpan.Zero || !strands.Any(Taking))
        {
            return;
        }

        // The bound is the system clock's, whatever TimeProvider the data source has: a disposal must end in real time
        // under a test's frozen clock too. The short poll sees a healthy strand's backlog empty, which changes no state.
        using var timeout = new CancellationTokenSource(limit, TimeProvider.System);
        while (strands.Any(Taking) && !timeout.IsCancellationRequested)
        {
            var changes = strands.Select(s => s.Controller.Changed).Append(Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, timeout.Token));
            await Task.WhenAny(changes).ConfigureAwait(false);
        }

        static bool Taking(Strand strand) =>
            strand.Controller.Backlog > 0 && strand.State is HelixStrandState.Healthy or HelixStrandState.CatchingUp;
    }

    public static void ReportLost(Strand[] strands, string dataSourceName, ILogger logger)
    {
        foreach (var strand in strands)
        {
            if (strand.Controller.Backlog is > 0 and var lost)
            {
                Log.UnreplayedWritesLost(logger, dataSourceName, lost, strand.Name);
            }
        }
    }
}
