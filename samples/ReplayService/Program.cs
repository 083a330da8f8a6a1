// The dedicated replay worker of a Helix.Data fleet: the applications enqueue their replay entries on NATS
// JetStream (Replay=nats://...;Replay Worker=false) and this service applies them to the strands that missed them.
//
//   dotnet run --project samples/ReplayService -- \
//     --Helix:ConnectionString "Helix;Provider=Npgsql;Primary=\"Host=pg-a;Database=app\";Secondary=\"Host=pg-b;Database=app\";Username=app;Password=...;Replay=nats://127.0.0.1:4222"
//
// Run exactly one instance per stream: two workers would share the entries and break their order.
using Helix.Data;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
builder.Services.AddHostedService<ReplayWorkerService>();
await builder.Build().RunAsync();

/// <summary>Runs a Helix data source whose only job is its replay worker, and reports its status.</summary>
internal sealed partial class ReplayWorkerService(IConfiguration configuration, ILoggerFactory loggerFactory, ILogger<ReplayWorkerService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connectionString = configuration["Helix:ConnectionString"]
            ?? throw new InvalidOperationException("Set Helix:ConnectionString (argument --Helix:ConnectionString, or the environment variable Helix__ConnectionString) to the fleet's Helix connection string with Replay=nats://...");
        var settings = new HelixConnectionStringBuilder(connectionString) { ReplayWorker = true };
        if (!settings.Replay.StartsWith("nats://", StringComparison.OrdinalIgnoreCase) && !settings.Replay.StartsWith("tls://", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"The replay service serves a NATS-backed fleet; the connection string has Replay={settings.Replay}.");
        }

        // Disposing the data source on shutdown stops the worker: a batch being applied is rolled back and its entries
        // stay in the stream, so nothing is lost.
        await using var dataSource = new HelixDataSourceBuilder(settings.ConnectionString).UseLoggerFactory(loggerFactory).Build();
        LogStarted(logger, settings.ToString());
        while (!stoppingToken.IsCancellationRequested)
        {
            var status = dataSource.GetStatus();
            foreach (var strand in status.Strands)
            {
                LogStrand(logger, strand.Name, strand.State, strand.Backlog);
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(10), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        LogStopping(logger, dataSource.GetStatus().ReplayApplied);
    }

    [LoggerMessage(1, LogLevel.Information, "Replay service started: {ConnectionString}")]
    private static partial void LogStarted(ILogger logger, string connectionString);

    [LoggerMessage(2, LogLevel.Information, "Strand {Strand}: {State}, {Backlog} entries to replay")]
    private static partial void LogStrand(ILogger logger, string strand, HelixStrandState state, long backlog);

    [LoggerMessage(3, LogLevel.Information, "Replay service stopping after applying {Applied} entries")]
    private static partial void LogStopping(ILogger logger, long applied);
}
