using Microsoft.Extensions.Time.Testing;

namespace Helix.Data.Tests.Support;

/// <summary>Two SQLite strands behind the fault-injecting wrapper, with a data source built over them.</summary>
internal sealed class FaultyStrands : IAsyncDisposable
{
    public FaultyStrands(string extra = "", Action<HelixDataSourceBuilder>? configure = null, string? name = null)
    {
        Files = new SqliteStrands(name ?? "faulty");
        // Strand Retry off unless a test asks for it: these tests are about what a fault does, which a retry would hide.
        var retry = extra.Contains("Strand Retry", StringComparison.OrdinalIgnoreCase) ? string.Empty : ";Strand Retry=0";
        var builder = new HelixDataSourceBuilder("Helix" + retry + (extra.Length > 0 ? ";" + extra : string.Empty))
            .UsePrimary(new FaultySqliteDataSource(Files.Inner(HelixStrand.Primary), Primary))
            .UseSecondary(new FaultySqliteDataSource(Files.Inner(HelixStrand.Secondary), Secondary))
            .ConfigureReplay(o =>
            {
                o.BackoffInitial = TimeSpan.FromMilliseconds(10);
                o.BackoffMax = TimeSpan.FromMilliseconds(100);
            })
            .OnDivergence(Divergences.Add);
        configure?.Invoke(builder);
        DataSource = builder.Build();
    }

    public SqliteStrands Files { get; }

    public FaultPlan Primary { get; } = new();

    public FaultPlan Secondary { get; } = new();

    public HelixDataSource DataSource { get; }

    public System.Collections.Concurrent.ConcurrentBag<HelixDivergence> Divergences { get; } = [];

    public FaultPlan Plan(HelixStrand strand) => strand == HelixStrand.Primary ? Primary : Secondary;

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        Files.Dispose();
    }
}

/// <summary>Bounded waits with clear failure messages, instead of sleeps.</summary>
internal static class Wait
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    public static async Task ForReplayAsync(HelixDataSource dataSource, TimeSpan? timeout = null)
    {
        using var cancellation = new CancellationTokenSource(timeout ?? Default);
        try
        {
            await dataSource.WaitForReplayAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Replay did not converge within {(timeout ?? Default).TotalSeconds} s; status: {Describe(dataSource.GetStatus())}");
        }
    }

    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Default);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {(timeout ?? Default).TotalSeconds} s waiting until {what}.");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>
    /// Advances a fake clock by <paramref name="step"/> until <paramref name="condition"/> holds (bounded in real time).
    /// A background loop (the circuit prober) sets its timer only after it wakes: a single advance made before that would
    /// be lost, and the loop would wait for fake time that never comes. Advancing again until the effect shows cannot miss it.
    /// </summary>
    public static async Task AdvancingUntilAsync(FakeTimeProvider clock, TimeSpan step, Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Default);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {(timeout ?? Default).TotalSeconds} s (fake clock at {clock.GetUtcNow():O}) waiting until {what}.");
            }

            clock.Advance(step);
            await Task.Delay(10);
        }
    }

    public static string Describe(HelixDataSourceStatus status) =>
        string.Join("; ", status.Strands.Select(s => $"{s.Name}={s.State} backlog={s.Backlog} error={s.LastError}"));

    public static FakeTimeProvider Clock() => new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
}

/// <summary>Runs a fixture once with synchronous and once with asynchronous ADO.NET calls.</summary>
public enum SyncOrAsync
{
    Sync,
    Async,
}
