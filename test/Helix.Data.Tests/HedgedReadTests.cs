using Dapper;
using Helix.Data.Internal.Execution;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary><c>Hedge After</c>: a late asynchronous read also goes to the other strand; the first answer wins.</summary>
public class HedgedReadTests
{
    private const string Select = "SELECT v FROM t WHERE v > @min";

    [Test]
    public async Task A_late_read_is_answered_by_the_other_strand_and_the_late_one_is_cancelled_and_released()
    {
        var clock = Wait.Clock();
        var name = "hedge_" + Guid.NewGuid().ToString("N")[..8];
        using var metrics = new MetricsCollector(name);
        await using var strands = Hedged(clock, $"Hedge After=50;Name={name}");
        strands.Primary.Hold(text => text.StartsWith("SELECT v", StringComparison.Ordinal));
        strands.Primary.DelayCancellations();
        await using var connection = (HelixConnection)await strands.DataSource.OpenConnectionAsync();
        var (primaryConnections, secondaryConnections) = (strands.Primary.ConnectionsDisposed, strands.Secondary.ConnectionsMade);

        var reading = connection.QueryAsync<int>(Select, new { min = 0 });
        await Wait.UntilAsync(() => strands.Primary.HeldNow == 1, "the primary holds the read");
        clock.Advance(TimeSpan.FromMilliseconds(49));
        Assert.That(reading.IsCompleted, Is.False, "not hedged before 50 ms");
        Assert.That(strands.Secondary.ConnectionsMade, Is.EqualTo(secondaryConnections));
        clock.Advance(TimeSpan.FromMilliseconds(1));

        Assert.That(await reading.WaitAsync(Wait.Default), Is.EqualTo(new[] { 2 }), "the secondary's row");
        await Wait.UntilAsync(() => strands.Primary.HeldCancelled == 1, "the late attempt is cancelled");
        Assert.That(connection.HasInner(strands.DataSource.Strands[0]), Is.False, "the late attempt took its inner connection with it");
        Assert.That(strands.Primary.ConnectionsDisposed, Is.EqualTo(primaryConnections), "not closed while the attempt still runs on it");
        strands.Primary.AnswerCancellations();
        await Wait.UntilAsync(() => strands.Primary.ConnectionsDisposed == primaryConnections + 1, "the late attempt's connection is closed once it ended");
        Assert.Multiple(() =>
        {
            Assert.That(strands.Secondary.ConnectionsDisposed, Is.EqualTo(strands.Secondary.ConnectionsMade), "the hedge's own connection closed with its reader");
            Assert.That(strands.DataSource.GetStatus()[HelixStrand.Primary].State, Is.EqualTo(HelixStrandState.Healthy), "slow is not failed");
            Assert.That(metrics.Sum("helix.reads.hedged", "primary"), Is.EqualTo(1));
            Assert.That(metrics.Sum("helix.reads.hedge_won", "secondary"), Is.EqualTo(1));
        });

        strands.Primary.ReleaseHeld();
        Assert.That(await connection.QueryAsync<int>(Select, new { min = 0 }), Is.EqualTo(new[] { 1 }), "the same connection reads the primary again, on a fresh inner connection");
    }

    [Test]
    public async Task A_first_strand_that_answers_before_the_hedge_wins_and_the_hedge_is_cancelled()
    {
        var clock = Wait.Clock();
        await using var strands = Hedged(clock, "Hedge After=50");
        strands.Primary.Hold(text => text.StartsWith("SELECT v", StringComparison.Ordinal));
        strands.Secondary.Hold(text => text.StartsWith("SELECT v", StringComparison.Ordinal));
        await using var connection = await strands.DataSource.OpenConnectionAsync();

        var reading = connection.QueryAsync<int>(Select, new { min = 0 });
        await Wait.UntilAsync(() => strands.Primary.HeldNow == 1, "the primary holds the read");
        clock.Advance(TimeSpan.FromMilliseconds(50));
        await Wait.UntilAsync(() => strands.Secondary.HeldNow == 1, "the hedge runs on the secondary");
        strands.Primary.ReleaseHeld();

        Assert.That(await reading.WaitAsync(Wait.Default), Is.EqualTo(new[] { 1 }), "the primary answered first");
        await Wait.UntilAsync(() => strands.Secondary.HeldCancelled == 1, "the hedge is cancelled");
        await Wait.UntilAsync(() => strands.Secondary.ConnectionsDisposed == strands.Secondary.ConnectionsMade, "the hedge's connection is closed");
    }

    [Test]
    public async Task A_read_answered_in_time_is_not_hedged()
    {
        var clock = Wait.Clock();
        await using var strands = Hedged(clock, "Hedge After=50");
        await using var connection = await strands.DataSource.OpenConnectionAsync();
        var secondaryConnections = strands.Secondary.ConnectionsMade;

        Assert.That(await connection.QueryAsync<int>(Select, new { min = 0 }), Is.EqualTo(new[] { 1 }));
        Assert.That(strands.Secondary.ConnectionsMade, Is.EqualTo(secondaryConnections), "the secondary was never asked");
    }

    [Test]
    public async Task A_fault_of_one_attempt_waits_for_the_other()
    {
        var clock = Wait.Clock();
        await using var strands = Hedged(clock, "Hedge After=50");
        strands.Primary.Hold(text => text.StartsWith("SELECT v", StringComparison.Ordinal));
        var hedgeFaults = 0;
        strands.Secondary.FailExecutions(() => new IOException("connection reset by peer"), text => text.StartsWith("SELECT v", StringComparison.Ordinal) && Interlocked.Increment(ref hedgeFaults) > 0);
        await using var connection = await strands.DataSource.OpenConnectionAsync();

        var reading = connection.QueryAsync<int>(Select, new { min = 0 });
        await Wait.UntilAsync(() => strands.Primary.HeldNow == 1, "the primary holds the read");
        clock.Advance(TimeSpan.FromMilliseconds(50));
        await Wait.UntilAsync(() => Volatile.Read(ref hedgeFaults) == 1, "the hedge meets its fault"); // the strand heals at once: its state would be a race
        Assert.That(reading.IsCompleted, Is.False, "still waiting for the primary");
        strands.Primary.ReleaseHeld();

        Assert.That(await reading.WaitAsync(Wait.Default), Is.EqualTo(new[] { 1 }));
    }

    [Test]
    public async Task Faults_on_both_attempts_fail_the_read_with_both_errors()
    {
        var clock = Wait.Clock();
        await using var strands = Hedged(clock, "Hedge After=50");
        strands.Primary.Hold(text => text.StartsWith("SELECT v", StringComparison.Ordinal));
        var hedgeFaults = 0;
        strands.Secondary.FailExecutions(() => new IOException("secondary reset"), text => text.StartsWith("SELECT v", StringComparison.Ordinal) && Interlocked.Increment(ref hedgeFaults) > 0);
        await using var connection = await strands.DataSource.OpenConnectionAsync();

        var reading = connection.QueryAsync<int>(Select, new { min = 0 });
        await Wait.UntilAsync(() => strands.Primary.HeldNow == 1, "the primary holds the read");
        clock.Advance(TimeSpan.FromMilliseconds(50));
        await Wait.UntilAsync(() => Volatile.Read(ref hedgeFaults) == 1, "the hedge meets its fault"); // the strand heals at once: its state would be a race
        strands.Primary.FailExecutions(() => new IOException("primary reset"), text => text.StartsWith("SELECT v", StringComparison.Ordinal));
        strands.Primary.ReleaseHeld();

        var e = Assert.ThrowsAsync<HelixException>(() => reading.WaitAsync(Wait.Default));
        Assert.That(e!.Message, Does.Contain("primary reset").And.Contain("secondary reset"));
    }

    [Test]
    public async Task A_caller_who_cancels_a_hedged_read_gets_a_cancellation()
    {
        var clock = Wait.Clock();
        await using var strands = Hedged(clock, "Hedge After=50");
        strands.Primary.Hold(text => text.StartsWith("SELECT v", StringComparison.Ordinal));
        strands.Secondary.Hold(text => text.StartsWith("SELECT v", StringComparison.Ordinal));
        await using var connection = await strands.DataSource.OpenConnectionAsync();
        using var cancellation = new CancellationTokenSource();

        var reading = connection.QueryAsync<int>(new CommandDefinition(Select, new { min = 0 }, cancellationToken: cancellation.Token));
        await Wait.UntilAsync(() => strands.Primary.HeldNow == 1, "the primary holds the read");
        clock.Advance(TimeSpan.FromMilliseconds(50));
        await Wait.UntilAsync(() => strands.Secondary.HeldNow == 1, "the hedge runs");
        await cancellation.CancelAsync();

        var e = Assert.CatchAsync<OperationCanceledException>(() => reading.WaitAsync(Wait.Default));
        Assert.That(e!.CancellationToken, Is.EqualTo(cancellation.Token), "the caller's own token");
        await Wait.UntilAsync(() => strands.Primary.HeldCancelled == 1 && strands.Secondary.HeldCancelled == 1, "both attempts are cancelled");
        Assert.That(strands.DataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy), "a cancellation is nobody's fault");
    }

    [Test]
    public void Auto_waits_for_the_strand_s_recent_95th_percentile_once_32_reads_are_timed()
    {
        var window = new LatencyWindow();
        for (var ms = 1; ms <= 31; ms++)
        {
            window.Add(TimeSpan.FromMilliseconds(ms));
        }

        Assert.That(window.Percentile95, Is.Null, "too few reads to tell");
        for (var ms = 32; ms <= 64; ms++)
        {
            window.Add(TimeSpan.FromMilliseconds(ms));
        }

        Assert.That(window.Percentile95, Is.EqualTo(TimeSpan.FromMilliseconds(61)), "the 61st of 64 sorted times");
        for (var i = 0; i < 256; i++)
        {
            window.Add(TimeSpan.FromMilliseconds(i < 244 ? 2 : 500)); // 12 slow reads of the last 256: under 5 %
        }

        Assert.That(window.Percentile95, Is.EqualTo(TimeSpan.FromMilliseconds(2)), "only the last 256 reads count, and fewer than 5 % slow ones stay above the 95th percentile");
    }

    [Test]
    public async Task Hedging_is_off_by_default_and_a_synchronous_read_is_never_hedged()
    {
        var clock = Wait.Clock();
        await using (var plain = Hedged(clock, string.Empty))
        {
            Assert.That(plain.DataSource.Hedging, Is.Null);
        }

        await using var strands = Hedged(clock, "Hedge After=1");
        strands.Primary.BeforeExecute(text =>
        {
            if (text.StartsWith("SELECT v", StringComparison.Ordinal))
            {
                clock.Advance(TimeSpan.FromMilliseconds(100)); // a slow read, on the data source's clock
            }
        });
        using var connection = strands.DataSource.OpenConnection();
        var secondaryConnections = strands.Secondary.ConnectionsMade;
        Assert.That(connection.Query<int>(Select, new { min = 0 }), Is.EqualTo(new[] { 1 }));
        Assert.That(strands.Secondary.ConnectionsMade, Is.EqualTo(secondaryConnections));
    }

    /// <summary>Two strands with different rows (1 on the primary, 2 on the secondary), reads on the primary.</summary>
    private static FaultyStrands Hedged(Microsoft.Extensions.Time.Testing.FakeTimeProvider clock, string extra)
    {
        var strands = new FaultyStrands($"Read Strategy=Sticky;Preferred Strand=Primary;{extra}".TrimEnd(';'), b => b.UseTimeProvider(clock));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v INTEGER)");
        strands.Files.Execute(HelixStrand.Primary, "INSERT INTO t VALUES (1)");
        strands.Files.Execute(HelixStrand.Secondary, "INSERT INTO t VALUES (2)");
        return strands;
    }
}
