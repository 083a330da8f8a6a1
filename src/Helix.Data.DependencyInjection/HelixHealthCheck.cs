using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Helix.Data;

/// <summary>
/// Reports a data source's health from its status (contract section 9): healthy when every strand is healthy,
/// degraded when one is not (reads and writes go on, on the other), and the registration's failure status
/// (unhealthy by default) when none is. The data lists each strand's state, backlog, circuit and last error.
/// </summary>
/// <remarks>
/// The check costs nothing: it reads the state that traffic and the replay worker's probes keep. A strand that has
/// not been used since it went down looks healthy until a command or probe meets the fault.
/// </remarks>
/// <param name="dataSource">The data source.</param>
public sealed class HelixHealthCheck(HelixDataSource dataSource) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var status = dataSource.GetStatus();
        var data = new Dictionary<string, object>();
        foreach (var strand in status.Strands)
        {
            data[strand.Name + ".state"] = strand.State.ToString();
            data[strand.Name + ".backlog"] = strand.Backlog;
            data[strand.Name + ".circuit"] = strand.Circuit.ToString();
            if (strand.DeferReason is { } deferred)
            {
                data[strand.Name + ".deferred"] = deferred;
            }

            if (strand.DrainReason is { } drained)
            {
                data[strand.Name + ".drained"] = drained;
            }

            if (strand.OutOfSyncReason is { } outOfSync)
            {
                data[strand.Name + ".out_of_sync"] = outOfSync; // it needs a resynchronisation
            }

            if (strand.LastError is { } error)
            {
                data[strand.Name + ".last_error"] = error;
            }
        }

        data["replay.dead_lettered"] = status.ReplayDeadLettered;
        data["replay.dropped"] = status.ReplayDropped;
        var healthy = status.Strands.Count(s => s.State == HelixStrandState.Healthy);
        var describe = string.Join(", ", status.Strands.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Name} {s.State}{(s.Backlog > 0 ? $" ({s.Backlog} to replay)" : string.Empty)}")));
        var result = healthy == status.Strands.Count
            ? HealthCheckResult.Healthy(describe, data)
            : healthy > 0
                ? HealthCheckResult.Degraded(describe, data: data)
                : new HealthCheckResult(context.Registration.FailureStatus, "No strand is healthy: " + describe, data: data);
        return Task.FromResult(result);
    }
}
