using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary><c>Replay Rate</c>: the worker applies at most that many entries per second to a strand, on the data source's clock.</summary>
public class ReplayRateTests
{
    [Test]
    public async Task A_rate_limited_replay_holds_its_rate_and_still_converges()
    {
        var clock = Wait.Clock();
        await using var strands = new FaultyStrands("Replay Rate=10;Replay Batch Size=100", b => b.UseTimeProvider(clock));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        strands.DataSource.Drain(HelixStrand.Secondary, "the backlog builds up");
        using (var connection = strands.DataSource.OpenConnection())
        {
            for (var i = 0; i < 50; i++)
            {
                using var command = new HelixCommand($"INSERT INTO t VALUES ({i})", connection);
                command.ExecuteNonQuery();
            }
        }

        Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].Backlog, Is.EqualTo(50));
        var started = clock.GetUtcNow();
        var violations = new List<string>();
        strands.DataSource.Undrain(HelixStrand.Secondary);
        await Wait.AdvancingUntilAsync(clock, TimeSpan.FromMilliseconds(100), () =>
        {
            var applied = Applied(strands);
            var elapsed = (clock.GetUtcNow() - started).TotalSeconds;
            if (applied > 10 + (10 * elapsed) + 0.001)
            {
                violations.Add($"{applied} applied after {elapsed:0.0} s");
            }

            return applied == 50;
        }, "the secondary has all 50 rows");
        var took = clock.GetUtcNow() - started;
        Assert.Multiple(() =>
        {
            Assert.That(violations, Is.Empty, "never more than a second's burst (10) plus 10 per second");
            Assert.That(took, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(4)), "50 entries at 10 per second after a burst of 10");
            Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(8)), "and not much slower than the rate");
        });
        await Wait.AdvancingUntilAsync(clock, TimeSpan.FromMilliseconds(100), () => strands.DataSource.GetStatus()[HelixStrand.Secondary].State == HelixStrandState.Healthy, "the secondary heals");
    }

    [TestCase("Replay Rate=0")]
    [TestCase("Replay Rate=fast")]
    public void A_rate_that_is_not_a_positive_whole_number_is_refused(string setting) =>
        Assert.That(() => new HelixConnectionStringBuilder(setting), Throws.ArgumentException.With.Property("ParamName").EqualTo("Replay Rate").And.Message.Contain("entries per second"));

    private static int Applied(FaultyStrands strands) => int.Parse(strands.Files.Rows(HelixStrand.Secondary, "SELECT count(*) FROM t").Single(), System.Globalization.CultureInfo.InvariantCulture);
}
