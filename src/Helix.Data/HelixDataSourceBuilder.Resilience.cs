using Polly;

namespace Helix.Data;

/// <content>The application's own resilience around a strand: a Polly pipeline.</content>
public sealed partial class HelixDataSourceBuilder
{
    private readonly ResiliencePipeline?[] _strandPipelines = new ResiliencePipeline?[2];

    /// <summary>
    /// Runs every statement the application sends to a strand (reads, writes, statements of transactions) through a Polly
    /// pipeline of the application's: timeouts, rate limits, its own retries or chaos. The pipeline sees a strand's
    /// failure as the provider's exception; what it throws itself (<see cref="Polly.Timeout.TimeoutRejectedException"/>, a rate
    /// limiter's or circuit breaker's rejection, an injected fault) reaches Helix as the strand's failure, classified by
    /// the error classifier (a rejection is a strand fault). The replay worker's statements do not go through it.
    /// </summary>
    /// <param name="strand">The strand whose statements the pipeline wraps.</param>
    /// <param name="pipeline">The pipeline, built with Polly's <see cref="ResiliencePipelineBuilder"/>.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    /// <remarks>
    /// A retry in the pipeline runs a write again: retry only what cannot have been applied (see <c>Strand Retry</c>,
    /// which does that, in docs/strategies.md). A timeout cancels the strand's command through its token: the statement's
    /// outcome is then unknown, and a write is treated as in doubt.
    /// </remarks>
    public HelixDataSourceBuilder UseStrandPipeline(HelixStrand strand, ResiliencePipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        if (strand is not (HelixStrand.Primary or HelixStrand.Secondary))
        {
            throw new ArgumentOutOfRangeException(nameof(strand), strand, "A strand is Primary or Secondary.");
        }

        _strandPipelines[(int)strand] = pipeline;
        return this;
    }

    /// <summary>Refuses a pipeline for a secondary strand that does not exist (single-strand mode).</summary>
    private void ThrowIfSecondaryPipelineAlone(bool hasSecondary)
    {
        if (!hasSecondary && _strandPipelines[1] is not null)
        {
            throw new InvalidOperationException("UseStrandPipeline was given a pipeline for the secondary strand, but there is no secondary strand (single-strand mode).");
        }
    }
}
