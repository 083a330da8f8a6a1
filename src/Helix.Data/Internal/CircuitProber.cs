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
    private readonly BackgroundLoop _loop;

    public CircuitProber(Strand[] strands, ReadCoordinator reads, string? probeCommandText, TimeProvider timeProvider, ILogger logger)
    {
        _strands = strands;
        _reads = reads;
        _probeCommandText = probeCommandText;
        _timeProvider = timeProvider;
        _logger = logger;
        _loop = new BackgroundLoop(stopping => BackgroundLoop.RepeatAsync("circuit prober", TurnAsync, () => TimeSpan.FromSeconds(1), _timeProvider, _logger, stopping));
    }

    public ValueTask DisposeAsync() => _loop.DisposeAsync();

    /// <summary>Probes the strands whose probe is due, then waits until the next one is due or a circuit changes.</summary>
    private async Task<TimeSpan?> TurnAsync(CancellationToken stopping)
    {
        var policy = _reads.Policy;
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
        return null;
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
