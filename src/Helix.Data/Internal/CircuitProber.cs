using Helix.Data.Logging;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal;

/// <summary>
/// Probes strands whose read circuit is not closed, when the failover policy says a probe is due, and reports the
/// outcome to the policy. Routing skips a strand with an open circuit, so without the probe nothing would ever close it.
/// </summary>
internal sealed class CircuitProber : IAsyncDisposable
{
    private readonly Strand[] _strands;
    private readonly ReadCoordinator _reads;
    private readonly string? _probeCommandText;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _run;

    public CircuitProber(Strand[] strands, ReadCoordinator reads, string? probeCommandText, TimeProvider timeProvider, ILogger logger)
    {
        _strands = strands;
        _reads = reads;
        _probeCommandText = probeCommandText;
        _timeProvider = timeProvider;
        _logger = logger;
        _run = Task.Run(() => RunAsync(_stopping.Token));
    }

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

    private async Task RunAsync(CancellationToken stopping)
    {
        var policy = _reads.Policy;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                TimeSpan? next = null;
                foreach (var strand in _strands)
                {
                    var delay = policy.GetProbeDelay(strand.Id);
                    if (delay is { } due && due <= TimeSpan.Zero)
                    {
                        await ProbeAsync(strand, stopping).ConfigureAwait(false);
                        delay = policy.GetProbeDelay(strand.Id);
                    }

                    _reads.NoteCircuit(strand);
                    if (delay is { } wait && (next is null || wait < next))
                    {
                        next = wait;
                    }
                }

                await _reads.CircuitChanged.WaitAsync(next ?? Timeout.InfiniteTimeSpan, _timeProvider, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // a policy's bug must not stop the probing of the other strand; it is logged
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.ReplayWorkerError(_logger, Redactor.SafeToLog(e), "circuit prober");
                await Task.Delay(TimeSpan.FromSeconds(1), _timeProvider, stopping).ConfigureAwait(false);
            }
        }
    }

    private async Task ProbeAsync(Strand strand, CancellationToken stopping)
    {
        var started = _timeProvider.GetTimestamp();
        var error = await StrandProbe.OpenAndRunAsync(strand, _probeCommandText, stopping).ConfigureAwait(false);
        var elapsed = _timeProvider.GetElapsedTime(started);
        if (error is null)
        {
            _reads.Policy.RecordSuccess(strand.Id, elapsed);
        }
        else
        {
            _reads.Policy.RecordFailure(strand.Id, error);
        }

        Log.CircuitProbed(_logger, strand.Name, error is null ? "answered" : "failed: " + error.Message, elapsed);
    }
}
