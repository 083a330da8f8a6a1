using Helix.Data.Logging;

namespace Helix.Data.Internal.Replay;

/// <summary>
/// Brings writes that a process left in doubt when it died (its intents grew older than the in-doubt timeout) to every
/// strand, by turning them into entries; looks every quarter of that timeout (at least every poll interval).
/// </summary>
internal sealed class IntentPromoter(ReplayEnvironment environment)
{
    private TimeSpan Interval => TimeSpan.FromTicks(Math.Max(environment.Options.PollInterval.Ticks, environment.Options.InDoubtTimeout.Ticks / 4));

    public Task RunAsync(CancellationToken stopping) =>
        BackgroundLoop.RepeatAsync("intents", TurnAsync, () => Interval, environment.TimeProvider, environment.Logger, stopping);

    private async Task<TimeSpan?> TurnAsync(CancellationToken stopping)
    {
        var olderThan = environment.TimeProvider.GetUtcNow() - environment.Options.InDoubtTimeout;
        var promoted = await environment.Queue!.PromoteAbandonedIntentsAsync(olderThan, stopping).ConfigureAwait(false);
        if (promoted > 0)
        {
            Log.IntentsPromoted(environment.Logger, promoted);
            await environment.ReportBacklogsAsync(stopping).ConfigureAwait(false);
        }

        return Interval;
    }
}
