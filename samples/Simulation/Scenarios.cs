namespace Helix.Data.Simulation;

/// <summary>What one scenario does to the strands while its fault phase lasts, and the Helix settings it runs with.</summary>
/// <param name="Name">The scenario's name, as <c>--scenario</c> takes it.</param>
/// <param name="Description">One line for the report.</param>
/// <param name="Settings">Connection-string keys added for this scenario.</param>
/// <param name="Begin">What happens when the fault phase begins.</param>
/// <param name="Tick">What happens every 200 ms of the fault phase, if anything.</param>
/// <param name="End">What happens when it ends (every strand is also calmed then).</param>
public sealed record Scenario(string Name, string Description, string Settings, Action<Stage> Begin, Action<Stage, int>? Tick = null, Action<Stage>? End = null)
{
    /// <summary>The scenarios, in the order a run goes through them.</summary>
    public static IReadOnlyList<Scenario> All { get; } =
    [
        new("one-strand-down", "the secondary stops, then comes back: its writes are replayed", string.Empty, s => s.Secondary.Down()),
        new("flapping", "the secondary stops and starts every 400 ms", string.Empty, _ => { }, (s, tick) =>
        {
            if (tick % 2 == 0)
            {
                s.Secondary.Down();
            }
            else
            {
                s.Secondary.Up();
            }
        }),
        new("blips", "5 % of each strand's statements fail as a dropped connection would (Strand Retry absorbs most)", string.Empty, s =>
        {
            s.Primary.FaultRate = 0.05;
            s.Secondary.FaultRate = 0.05;
        }),
        new("slow-strand", "the primary answers 10 % of statements 200 ms late; reads are hedged (Hedge After=Auto)", "Hedge After=Auto;Preferred Strand=Primary", s => s.Primary.LatencyRate = 0.10),
        new("both-down", "both strands stop for the fault phase: writes fail, nothing is acknowledged", string.Empty, s =>
        {
            s.Primary.Down();
            s.Secondary.Down();
        }),
        new("replay-saturation", "the secondary stops and its queue holds 300 entries (Replay Full=Reject): writes are refused once it is full", "Replay Capacity=300;Replay Full=Reject", s => s.Secondary.Down()),
        new("drain", "an operator defers the secondary: its writes go through replay, reads avoid it", string.Empty, s => s.DataSource.Defer(HelixStrand.Secondary, "simulation: drain"), End: s => s.DataSource.Undefer(HelixStrand.Secondary)),
    ];
}

/// <summary>What a scenario acts on.</summary>
public sealed record Stage(StrandChaos Primary, StrandChaos Secondary, HelixDataSource DataSource);

/// <summary>How long each phase of a scenario lasts.</summary>
public sealed record Profile(string Name, TimeSpan Warm, TimeSpan Fault, TimeSpan Recover, int Workers)
{
    /// <summary>About a minute for every scenario: what the test command runs.</summary>
    public static Profile Quick { get; } = new("quick", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1), 4);

    /// <summary>Minutes per scenario: long outages, full queues, many cycles.</summary>
    public static Profile Soak { get; } = new("soak", TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(10), 8);
}
