using Helix.Data.Replay;
using Helix.Data.Strategies;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal.Replay;

/// <summary>What the parts of the replay worker share: the strands, the queue, the settings and where to report.</summary>
/// <remarks>
/// <c>ApplyEntries</c>: whether this process applies entries. Without (<c>Replay Worker=false</c>) it only probes failed
/// strands and heals them once another process (the replay service) has emptied their backlog in the shared queue.
/// </remarks>
internal sealed record ReplayEnvironment(
    Strand[] Strands,
    HelixReplayQueue? Queue,
    HelixReplayOptions Options,
    HelixErrorClassifier Classifier,
    TimeProvider TimeProvider,
    ILogger Logger,
    DivergenceReporter Reporter,
    bool ApplyEntries,
    IHelixWriteStrategy WriteStrategy,
    IHelixWriteControl Control,
    ReplayHooks Hooks)
{
    private long _applied;

    /// <summary>Gets how many entries this process applied.</summary>
    public long Applied => Interlocked.Read(ref _applied);

    /// <summary>Counts entries applied.</summary>
    public void CountApplied(int count) => Interlocked.Add(ref _applied, count);

    /// <summary>Marks every strand whose backlog in the queue is not empty as behind (entries of a process that ended, or of a fleet).</summary>
    public async Task ReportBacklogsAsync(CancellationToken stopping)
    {
        foreach (var strand in Strands)
        {
            if (await Queue!.GetBacklogAsync(strand.Id, stopping).ConfigureAwait(false) > 0)
            {
                strand.Controller.ReportBehind();
            }
        }
    }
}
