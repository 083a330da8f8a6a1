using Helix.Data.Logging;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal;

/// <summary>
/// Work that runs on the thread pool for the life of a data source (the replay worker, the circuit prober): started at
/// construction, stopped and awaited by <see cref="DisposeAsync"/>. <see cref="RepeatAsync"/> is the loop they share.
/// </summary>
internal sealed class BackgroundLoop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _run;

    /// <summary>Starts <paramref name="run"/> on the thread pool; it is handed the token that <see cref="DisposeAsync"/> cancels.</summary>
    public BackgroundLoop(Func<CancellationToken, Task> run)
    {
        var stopping = _stopping.Token;
        _run = Task.Run(() => run(stopping), CancellationToken.None);
    }

    /// <summary>
    /// Runs <paramref name="turn"/> until <paramref name="stopping"/> is cancelled, waiting between turns for the delay a
    /// turn returns (none: the next turn at once). An error of a turn is logged (event 5004, named for
    /// <paramref name="what"/>) and the loop goes on after <paramref name="afterError"/>: background work must outlive
    /// any one bad entry or bug.
    /// </summary>
    public static async Task RepeatAsync(
        string what,
        Func<CancellationToken, Task<TimeSpan?>> turn,
        Func<TimeSpan> afterError,
        TimeProvider timeProvider,
        ILogger logger,
        CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (await turn(stopping).ConfigureAwait(false) is { } delay)
                {
                    await Task.Delay(delay, timeProvider, stopping).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // logged, and the loop goes on after a delay
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.ReplayWorkerError(logger, Redactor.SafeToLog(e), what);
                try
                {
                    await Task.Delay(afterError(), timeProvider, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Stops the work and waits for it to end.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _run.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }

        _stopping.Dispose();
    }
}
