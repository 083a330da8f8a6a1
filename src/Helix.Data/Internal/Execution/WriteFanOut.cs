using System.Data.Common;
using Helix.Data.Strategies;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// Runs a write on the strands that take it directly, as the write strategy orders: all at once or one after the other.
/// Plain commands, batches and transactions all fan out here.
/// </summary>
internal static class WriteFanOut
{
    /// <summary>
    /// Runs the write on each of <paramref name="targets"/> (the first with the caller's own parameter objects, the
    /// others with copies), in the inner transaction given for it, if any. Returns each target's result, in order.
    /// <paramref name="mayOffload"/> says whether the second strand may be offered to the thread pool where the strands
    /// would not overlap on this thread (a synchronous call, or a provider whose asynchronous methods complete before
    /// returning): not inside a transaction.
    /// </summary>
    public static async ValueTask<StrandResult[]> RunAsync(Execution execution, Strand[] targets, DbTransaction?[]? transactions, HelixWriteOrder order, bool mayOffload)
    {
        var results = new StrandResult[targets.Length];
        if (order == HelixWriteOrder.Concurrent && targets.Length == 2 && mayOffload && ShouldOffload(in execution, targets))
        {
            // The strands would not overlap on this thread: the second is offered to the thread pool while this thread
            // runs the first. Unless its writes are shorter than handing one to another thread: then running it in turn
            // costs less (contract amendment 14).
            var offloaded = OffloadedStrand.Offer(in execution, targets[1], execution.DataSource.OffersToThreadPool);
            var first = StrandRunner.RunAsync(in execution, targets[0]);
            NoteCompletion(in execution, targets[0], first.IsCompleted);
            results[0] = await first.ConfigureAwait(false);
            results[1] = await offloaded.JoinAsync().ConfigureAwait(false);
        }
        else if (execution.Io == IOBehavior.Asynchronous && order == HelixWriteOrder.Concurrent && targets.Length > 1)
        {
            // Each ValueTask is awaited exactly once, below; storing them is what lets the strands run concurrently.
#pragma warning disable CA2012
            var running = new ValueTask<StrandResult>[targets.Length];
            for (var i = 0; i < targets.Length; i++)
            {
                running[i] = StrandRunner.RunAsync(in execution, targets[i], useOriginals: i == 0, transactions?[i]);
            }

            NoteCompletion(in execution, targets[0], running[0].IsCompleted);
            for (var i = 0; i < targets.Length; i++)
            {
                results[i] = await running[i].ConfigureAwait(false);
            }
#pragma warning restore CA2012
        }
        else
        {
            StrandResult? ended = null;
            for (var n = 0; n < targets.Length; n++)
            {
                var i = Turn(order, n, targets.Length);
                results[i] = ended is { } first
                    ? first.NotSentTo(targets[i])
                    : await StrandRunner.RunAsync(in execution, targets[i], useOriginals: i == 0, transactions?[i]).ConfigureAwait(false);
                if (GoesNoFurther(in results[i], inTransaction: transactions is not null))
                {
                    ended ??= results[i];
                }
            }
        }

        if (transactions is null && Array.Exists(results, static r => !r.Succeeded))
        {
            // Strand Retry: a fault that provably left the strand untouched runs again before the strand counts as failed.
            await execution.DataSource.Retry.RetryFaultsAsync(execution, results).ConfigureAwait(false);
        }

        return results;
    }

    /// <summary>
    /// The index, among <paramref name="count"/> strands in index order, of the one that runs <paramref name="n"/>th when
    /// they run one after the other in <paramref name="order"/>: from the last for <see cref="HelixWriteOrder.SecondaryFirst"/>.
    /// Writes, commits and savepoints take their turns by it.
    /// </summary>
    public static int Turn(HelixWriteOrder order, int n, int count) => order == HelixWriteOrder.SecondaryFirst ? count - 1 - n : n;

    /// <summary>
    /// Whether a write run on one strand after the other stops at this strand's result: when its provider refused it
    /// before sending it (the connection busy with an open reader: contract amendment 38), nothing ran anywhere, and the
    /// next strand, whose connection is free, must not apply it alone. In a transaction, also when this strand's server
    /// ended it itself (a deadlock, a lock or statement timeout) or the caller cancelled it (amendment 37): that server's
    /// deadlock detection is what keeps transactions in order across the strands, and a strand that ran it alone would
    /// hold rows the other does not.
    /// </summary>
    private static bool GoesNoFurther(in StrandResult result, bool inTransaction) =>
        !result.Succeeded
        && (HelixErrorClassifier.RefusedBeforeSending(result.Error!) || (inTransaction && (result.ServerEnded || result.Cancelled)));

    /// <summary>
    /// Whether the second strand's part runs on another thread beside the first's: when the strands would not overlap on
    /// this thread, the second's recent writes are longer than a handoff, and the statement allows it: not a batch (its
    /// commands' parameters are copied as the batch is built for each strand). A write under an ambient
    /// System.Transactions scope gets here only for strands that ignore the scope (<see cref="AmbientTransactions"/>),
    /// so the thread that opens their connections does not matter.
    /// </summary>
    private static bool ShouldOffload(in Execution execution, Strand[] targets) =>
        (execution.Io == IOBehavior.Synchronous || targets[0].AsyncCompletesInline)
        && targets[1].WritesTakeAtLeast(execution.DataSource.OffloadThreshold)
        && !execution.Statement.IsBatch;

    /// <summary>Remembers whether the first strand's asynchronous write completed before it returned (what decides the next offer).</summary>
    private static void NoteCompletion(in Execution execution, Strand strand, bool completed)
    {
        if (execution.Io == IOBehavior.Asynchronous)
        {
            strand.AsyncCompletesInline = completed;
        }
    }
}
