using Helix.Data.Logging;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// <c>Strand Retry</c>: a strand fault is run again on the same strand, after a short jittered wait, before the read
/// fails over or the write's strand is treated as failed, so that one dropped connection does not send a strand through
/// failure, replay and catch-up. A Polly retry pipeline does the counting, the waits (on the data source's clock) and
/// the jitter; it is entered only after a first fault, so a statement that succeeds never touches it.
/// </summary>
/// <remarks>
/// Reads are retried on any strand fault. A write only when the fault proves the strand did not apply it: it came
/// before the statement was sent (the connection could not be had), or the server says it rolled the statement back
/// (<see cref="HelixErrorClassifier.IsSafeToRetry"/>). Never inside a transaction: the fault broke the transaction on
/// that strand. Cancellation by the caller is never retried.
/// </remarks>
internal sealed class StrandRetry
{
    private static readonly ResiliencePropertyKey<Attempts> AttemptsKey = new("helix.strand-retry");

    private readonly ResiliencePipeline<StrandResult>? _pipeline;
    private readonly HelixErrorClassifier _classifier;

    public StrandRetry(int retries, TimeSpan delay, TimeProvider timeProvider, HelixErrorClassifier classifier, ILogger logger)
    {
        _classifier = classifier;
        if (retries == 0)
        {
            return;
        }

        _pipeline = new ResiliencePipelineBuilder<StrandResult> { Name = "helix-strand-retry", TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions<StrandResult>
            {
                MaxRetryAttempts = retries,
                ShouldHandle = args => new(args.Outcome.Result is var result && args.Context.Properties.GetValue(AttemptsKey, null!).Allows(in result)),
                DelayGenerator = _ => new(delay * (1 + (Random.Shared.NextDouble() * 1.5))),
                OnRetry = args =>
                {
                    var failed = args.Outcome.Result;
                    Log.StrandRetry(logger, failed.Strand.Name, args.AttemptNumber + 1, retries, args.RetryDelay.TotalMilliseconds, failed.Error!.Message);
                    HelixMetrics.StrandRetries.Add(1, failed.Strand.MetricTags);
                    return default;
                },
            })
            .Build();
    }

    /// <summary>Gets a value indicating whether strand faults are retried at all.</summary>
    public bool IsOn => _pipeline is not null;

    /// <summary>
    /// Returns <paramref name="result"/> when it needs no retry; else runs the statement again on its strand, as often as
    /// <c>Strand Retry</c> allows, and returns the last result. Only for a statement outside a transaction.
    /// </summary>
    public ValueTask<StrandResult> AfterAsync(in Execution execution, StrandResult result, bool useOriginals = true)
    {
        if (_pipeline is null || !Allows(in execution, in result))
        {
            return new(result);
        }

        var attempts = new Attempts(this, execution, result, useOriginals);
        var context = ResilienceContextPool.Shared.Get(execution.CancellationToken);
        context.Properties.Set(AttemptsKey, attempts);
        if (execution.Io == IOBehavior.Synchronous)
        {
            try
            {
                return new(_pipeline.Execute(static (context, attempts) => attempts.Next(context).Synchronously(), context, attempts));
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }

        return RetryAsync(_pipeline, context, attempts);

        static async ValueTask<StrandResult> RetryAsync(ResiliencePipeline<StrandResult> pipeline, ResilienceContext context, Attempts attempts)
        {
            try
            {
                return await pipeline.ExecuteAsync(static (context, attempts) => attempts.Next(context), context, attempts).ConfigureAwait(false);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }
    }

    /// <summary>Runs each failed result of a write's fan-out again where it may be (not in a transaction).</summary>
    public async ValueTask RetryFaultsAsync(Execution execution, StrandResult[] results)
    {
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = await AfterAsync(in execution, results[i], useOriginals: i == 0).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether a failed result may be run again: a strand fault the caller did not cancel, not a statement that ran out
    /// of time (its server ended it, and would again), and for a write one it provably did not apply.
    /// </summary>
    private bool Allows(in Execution execution, in StrandResult result) =>
        !result.Succeeded && result.Kind == HelixErrorKind.StrandFault && !result.Cancelled && !execution.CancellationToken.IsCancellationRequested
        && !(result.ServerEnded && !_classifier.IsSafeToRetry(result.Error!))
        && (!execution.IsWrite || !result.MayHaveApplied || (IsOneStatement(execution.Statement) && _classifier.IsSafeToRetry(result.Error!)));

    /// <summary>
    /// Whether the write is a single statement: SQLite and MySQL commit each statement of a batch or of a text with
    /// several on its own, so a rollback the error reports may concern the last statement only. A semicolon anywhere
    /// before the end (even in a literal) counts as several: the doubt costs a retry, never a write applied twice.
    /// </summary>
    public static bool IsOneStatement(IStatement statement) =>
        !statement.IsBatch && statement.CommandText.AsSpan().TrimEnd().TrimEnd(';').IndexOf(';') < 0;

    /// <summary>One retried statement: its first (failed) result, then a new run on the same strand per attempt.</summary>
    private sealed class Attempts(StrandRetry retry, Execution execution, StrandResult first, bool useOriginals)
    {
        private bool _firstTaken;

        public bool Allows(in StrandResult result) => retry.Allows(in execution, in result);

        /// <summary>The pipeline's first call gets the fault already met; each later call runs the statement again.</summary>
        public ValueTask<StrandResult> Next(ResilienceContext context)
        {
            if (!_firstTaken)
            {
                _firstTaken = true;
                return new(first);
            }

            return StrandRunner.RunAsync(in execution, first.Strand, useOriginals);
        }
    }
}
