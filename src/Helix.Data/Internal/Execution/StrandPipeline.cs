using System.Data.Common;
using System.Runtime.ExceptionServices;
using Polly;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// Runs a statement on a strand through the application's Polly pipeline (<c>UseStrandPipeline</c>). Inside, a strand's
/// failure is thrown as the provider's exception, so that the pipeline's strategies see what they expect; outside, what
/// the pipeline lets out becomes the strand's result again: the run's own result when it is the provider's exception,
/// else the pipeline's (a timeout, a rejection, an injected fault), classified as any error is.
/// </summary>
internal static class StrandPipeline
{
    public static async ValueTask<StrandResult> RunAsync(Run run)
    {
        var execution = run.Execution;
        var context = ResilienceContextPool.Shared.Get(execution.CancellationToken);
        try
        {
            if (execution.Io == IOBehavior.Synchronous)
            {
                return run.Strand.Pipeline!.Execute(static (context, run) => run.Once(context).Synchronously(), context, run);
            }

            return await run.Strand.Pipeline!.ExecuteAsync(static (context, run) => run.Once(context), context, run).ConfigureAwait(false);
        }
        catch (Exception e) when (run.Last is { Error: { } error } last && ReferenceEquals(e, error))
        {
            return last;
        }
        catch (Exception e)
        {
            // The pipeline's own: a timeout or rejection of it, or a fault it injected. A run it cut short may have applied.
            var cancelled = CallerCancellation.Is(e, execution.CancellationToken);
            var kind = cancelled ? HelixErrorKind.StrandFault : execution.DataSource.Classifier.Classify(e);
            return StrandResult.Failure(run.Strand, e, kind, cancelled, mayHaveApplied: run.Last is { MayHaveApplied: true } || run.Started);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>What one statement's runs through the pipeline share: what to run, and the last run's result.</summary>
    internal sealed class Run(Execution execution, Strand strand, bool useOriginals, DbTransaction? transaction, DbParameter[]? copies, DbConnection? connection)
    {
        public Execution Execution { get; } = execution;

        public Strand Strand { get; } = strand;

        /// <summary>Gets the result of the last run the pipeline made, if it made one.</summary>
        public StrandResult? Last { get; private set; }

        /// <summary>Gets a value indicating whether a run has begun (the statement may have reached the strand).</summary>
        public bool Started { get; private set; }

        /// <summary>One run, under the pipeline's token (a timeout of the pipeline cancels it); a failure thrown.</summary>
        public ValueTask<StrandResult> Once(ResilienceContext context)
        {
            Started = true;
            var running = StrandRunner.RunAsync(Execution.EnteringPipeline(context.CancellationToken), Strand, useOriginals, transaction, copies, connection);
            return running.IsCompletedSuccessfully ? new(Settle(running.Result)) : SettleAsync(running);
        }

        private async ValueTask<StrandResult> SettleAsync(ValueTask<StrandResult> running) => Settle(await running.ConfigureAwait(false));

        private StrandResult Settle(StrandResult result)
        {
            Last = result;
            if (!result.Succeeded)
            {
                ExceptionDispatchInfo.Capture(result.Error!).Throw();
            }

            return result;
        }
    }
}
