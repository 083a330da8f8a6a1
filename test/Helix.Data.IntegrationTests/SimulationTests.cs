using Helix.Data.Simulation;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// The chaos simulation's quick profile (samples/Simulation): every scenario (a strand down, flapping, blips, a slow
/// strand, both down, a saturated replay queue, a drain) keeps its invariants. The soak profile runs on its own
/// (docs/simulation.md).
/// </summary>
public class SimulationTests
{
    [Test]
    [CancelAfter(180_000)]
    public async Task The_quick_profile_keeps_every_invariant(CancellationToken cancellationToken)
    {
        var output = Path.Combine(Path.GetTempPath(), "helix-tests", "simulation-" + Guid.NewGuid().ToString("N")[..8]);
        var report = await Simulator.RunAsync(new SimulationOptions(Profile.Quick, Scenario.All, 1, output), TestContext.Out, cancellationToken);
        var results = report.Results.ToDictionary(r => r.Name);

        Assert.Multiple(() =>
        {
            foreach (var result in report.Results)
            {
                Assert.That(result.LostWrites, Is.Zero, $"{result.Name}: acknowledged writes lost");
                Assert.That(result.StaleReads, Is.Zero, $"{result.Name}: reads older than the reader's own acknowledged write");
                Assert.That(result.Converged, Is.True, $"{result.Name}: the strands converged and hold the same rows");
                Assert.That(result.Operations, Is.GreaterThan(100), $"{result.Name}: the workload ran");
                Assert.That(File.Exists(Path.Combine(output, result.Name, result.Name + ".png")), Is.True, $"{result.Name}: its chart");
            }

            Assert.That(results["one-strand-down"].Errors, Is.Zero, "one strand down: every write is acknowledged");
            Assert.That(results["drain"].Errors, Is.Zero, "a drained strand costs callers nothing");
            Assert.That(results["both-down"].Errors, Is.GreaterThan(0), "both strands down: writes are refused, not acknowledged");
            Assert.That(results["replay-saturation"].Errors, Is.GreaterThan(0), "a full queue refuses writes under Replay Full=Reject");
            Assert.That(results["slow-strand"].ReadP99Ms, Is.LessThan(150), "hedged reads do not wait for the primary's 200 ms answers");
            Assert.That(File.ReadAllText(Path.Combine(output, "report.md")), Does.Contain("every invariant held"));
        });
    }
}
