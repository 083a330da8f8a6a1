using Polly;
using Polly.Simmy;
using Polly.Simmy.Fault;
using Polly.Simmy.Latency;

namespace Helix.Data.Simulation;

/// <summary>
/// What a scenario does to one strand. <see cref="Down"/> takes the strand's database away for everyone (the
/// application and the replay worker): its file is moved aside, so every new connection fails to open, as a server
/// that stopped. <see cref="FaultRate"/> and <see cref="LatencyRate"/> drive Polly's chaos strategies in the strand's
/// pipeline (<c>UseStrandPipeline</c>): blips and slow answers on the application's statements.
/// </summary>
public sealed class StrandChaos(string name, string file)
{
    private double _faultRate;
    private double _latencyRate;

    public string Name { get; } = name;

    public string File { get; } = file;

    /// <summary>Gets or sets the share of statements that fail with a strand fault before they reach the strand.</summary>
    public double FaultRate
    {
        get => Volatile.Read(ref _faultRate);
        set => Volatile.Write(ref _faultRate, value);
    }

    /// <summary>Gets or sets the share of statements that are answered <see cref="Latency"/> late.</summary>
    public double LatencyRate
    {
        get => Volatile.Read(ref _latencyRate);
        set => Volatile.Write(ref _latencyRate, value);
    }

    public TimeSpan Latency { get; set; } = TimeSpan.FromMilliseconds(200);

    public bool IsDown => !System.IO.File.Exists(File);

    /// <summary>Stops the strand: its database file is moved aside, and no connection can open it.</summary>
    public void Down()
    {
        if (!IsDown)
        {
            System.IO.File.Move(File, File + ".down");
        }
    }

    /// <summary>Starts the strand again.</summary>
    public void Up()
    {
        if (IsDown)
        {
            System.IO.File.Move(File + ".down", File);
        }
    }

    public void Calm()
    {
        FaultRate = 0;
        LatencyRate = 0;
        Up();
    }

    /// <summary>The strand's pipeline: injected faults (a strand fault, as a dropped connection is), then injected latency.</summary>
    public ResiliencePipeline Pipeline() => new ResiliencePipelineBuilder()
        .AddChaosFault(new ChaosFaultStrategyOptions
        {
            InjectionRateGenerator = _ => new(FaultRate),
            FaultGenerator = _ => new(new TimeoutException($"chaos: strand {Name} did not answer")),
        })
        .AddChaosLatency(new ChaosLatencyStrategyOptions
        {
            InjectionRateGenerator = _ => new(LatencyRate),
            LatencyGenerator = _ => new(Latency),
        })
        .Build();
}
