using Helix.Data.Internal;
using Helix.Data.Replay;

namespace Helix.Data.Operations;

/// <summary>
/// What an operator checks first: can each strand be reached from here, how long does it take, and what does the replay
/// queue hold for it (backlog, dead letters). Unlike <see cref="HelixDataSource.GetStatus"/>, which tells what this
/// process has seen, it asks: each strand is probed now (as the circuit prober probes it), and a durable queue is read.
/// </summary>
public static class HelixStatusReader
{
    /// <summary>Probes each strand and reads the replay queue.</summary>
    /// <param name="dataSource">The data source.</param>
    /// <param name="timeout">How long a strand or the queue may take to answer.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>The report.</returns>
    public static async Task<HelixStatusReport> ReadAsync(HelixDataSource dataSource, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var status = dataSource.GetStatus();
        var queue = dataSource.ReplayQueue;
        if (queue is not null)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(timeout);
            try
            {
                queue = await dataSource.OpenReplayQueueAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new HelixStatusReport(await ProbeAllAsync(dataSource, status, null, timeout, cancellationToken), new HelixQueueStatus(queue.GetType().Name, queue.IsDurable, false, null));
            }
        }

        var strands = await ProbeAllAsync(dataSource, status, queue, timeout, cancellationToken);
        int? deadLetters = queue is { ManagesDeadLetters: true } ? (await queue.GetDeadLettersAsync(int.MaxValue, cancellationToken)).Count : null;
        return new HelixStatusReport(strands, queue is null ? null : new HelixQueueStatus(queue.GetType().Name, queue.IsDurable, true, deadLetters));
    }

    private static async Task<List<HelixStrandReach>> ProbeAllAsync(HelixDataSource dataSource, HelixDataSourceStatus status, HelixReplayQueue? queue, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var strands = new List<HelixStrandReach>();
        foreach (var (strand, seen) in dataSource.Strands.Zip(status.Strands))
        {
            var (latency, error) = await ProbeAsync(dataSource, strand, timeout, cancellationToken);
            long? backlog = queue is null ? null : await queue.GetBacklogAsync(strand.Id, cancellationToken);
            strands.Add(new HelixStrandReach(strand.Id, strand.Name, strand.ProviderName, seen.State, error is null, latency, error, backlog));
        }

        return strands;
    }

    /// <summary>Runs the strand's probe statement on a connection of its own (as the circuit prober does); the time it took, or what went wrong.</summary>
    private static async Task<(TimeSpan? Latency, string? Error)> ProbeAsync(HelixDataSource dataSource, Strand strand, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(timeout);
        var started = dataSource.TimeProvider.GetTimestamp();
        try
        {
            return await StrandProbe.OpenAndRunAsync(strand, dataSource.Configuration.ReplayOptions.ProbeCommandText, wait.Token) is { } error
                ? (null, error.Message)
                : (dataSource.TimeProvider.GetElapsedTime(started), null);
        }
        catch (Exception) when (wait.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return (null, $"no answer within {timeout.TotalSeconds:0.#} s"); // a provider may wrap the cancellation
        }
    }
}

/// <summary>What <see cref="HelixStatusReader.ReadAsync"/> found.</summary>
/// <param name="Strands">Each strand, primary first.</param>
/// <param name="Queue">The replay queue, or <see langword="null"/> when there is none.</param>
public sealed record HelixStatusReport(IReadOnlyList<HelixStrandReach> Strands, HelixQueueStatus? Queue)
{
    /// <summary>Gets a value indicating whether nothing needs an operator: every strand answers, and the queue is open and holds no dead letter.</summary>
    public bool IsHealthy => Strands.All(s => s.Reachable) && Queue is null or { Open: true, DeadLetters: null or 0 };
}

/// <summary>One strand, probed.</summary>
/// <param name="Strand">The strand.</param>
/// <param name="Name">Its name (<c>Strand Names</c>).</param>
/// <param name="Provider">Its ADO.NET provider.</param>
/// <param name="State">Its state as the data source sees it.</param>
/// <param name="Reachable">Whether it answered the probe.</param>
/// <param name="Latency">How long the probe took (a connection and the probe statement, <c>Probe Command</c>), when it answered.</param>
/// <param name="Error">What went wrong, when it did not.</param>
/// <param name="Backlog">The entries the replay queue holds for it, when there is a queue.</param>
public sealed record HelixStrandReach(HelixStrand Strand, string Name, string Provider, HelixStrandState State, bool Reachable, TimeSpan? Latency, string? Error, long? Backlog);

/// <summary>The replay queue, read.</summary>
/// <param name="Kind">Its type.</param>
/// <param name="Durable">Whether it keeps entries outside the process.</param>
/// <param name="Open">Whether it opened in time (a NATS server that does not answer keeps it closed).</param>
/// <param name="DeadLetters">Its dead letters, when it keeps them for an operator.</param>
public sealed record HelixQueueStatus(string Kind, bool Durable, bool Open, int? DeadLetters);
