using Helix.Data.Strategies;
using Helix.Data.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Helix.Data.Tests.Strategies;

/// <summary>The strategies and policies at work in a data source over two SQLite strands, on a fake clock.</summary>
public class StrategyIntegrationTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Read = "SELECT v FROM t";
    private const string Write = "INSERT INTO w (id) VALUES (@id)";

    private static FaultyStrands Strands(string extra, FakeTimeProvider clock, Action<HelixDataSourceBuilder>? configure = null)
    {
        var strands = new FaultyStrands(extra, b =>
        {
            b.UseTimeProvider(clock);
            configure?.Invoke(b);
        });
        strands.Files.Execute(HelixStrand.Primary, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('from primary'); CREATE TABLE w (id INTEGER PRIMARY KEY)");
        strands.Files.Execute(HelixStrand.Secondary, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('from secondary'); CREATE TABLE w (id INTEGER PRIMARY KEY)");
        return strands;
    }

    /// <summary>
    /// Makes the strand's inserts take <paramref name="milliseconds"/> on the fake clock. The strands of a write then run
    /// in turn, not at once: the clock is shared, so an advance during both would make both look slow.
    /// </summary>
    private static void SlowInserts(FaultyStrands strands, HelixStrand strand, FakeTimeProvider clock, int milliseconds)
    {
        strands.DataSource.OffersToThreadPool = false;
        strands.Plan(strand).BeforeExecute(text =>
        {
            if (text.StartsWith("INSERT", StringComparison.Ordinal))
            {
                clock.Advance(TimeSpan.FromMilliseconds(milliseconds));
            }
        });
    }

    private async Task<HelixStrand> ReadOnceAsync(HelixDataSource dataSource)
    {
        await using var connection = await OpenAsync(dataSource);
        return (await QueryAsync(connection, Read)).Strand;
    }

    private async Task WriteOnceAsync(HelixDataSource dataSource, int id)
    {
        await using var connection = await OpenAsync(dataSource);
        await ExecuteNonQueryAsync(connection, Write, ("id", id));
    }

    [Test]
    public async Task CircuitBreaker_gives_callers_the_first_faults_then_opens_and_a_probe_closes_it()
    {
        var clock = Wait.Clock();
        await using var strands = Strands("Read Strategy=PrimaryOnly;Failover=CircuitBreaker;Circuit Threshold=3;Circuit Reset=30", clock);
        strands.Primary.FailExecutions(FaultPlan.Busy, text => text != Write);
        var dataSource = strands.DataSource;
        for (var i = 0; i < 2; i++)
        {
            var thrown = Assert.ThrowsAsync<SqliteException>(() => ReadOnceAsync(dataSource), "below the threshold the caller gets the error");
            Assert.That(thrown!.SqliteErrorCode, Is.EqualTo(5));
        }

        Assert.Multiple(() =>
        {
            Assert.That(dataSource.GetStatus()[HelixStrand.Primary].State, Is.EqualTo(HelixStrandState.Healthy), "read faults are counted, not acted on");
            Assert.That(dataSource.GetStatus()[HelixStrand.Primary].Circuit, Is.EqualTo(HelixCircuitState.Closed));
        });

        Assert.That(await ReadOnceAsync(dataSource), Is.EqualTo(HelixStrand.Secondary), "the third fault opens the circuit and fails over");
        var executions = strands.Primary.Executions;
        Assert.Multiple(async () =>
        {
            Assert.That(dataSource.GetStatus()[HelixStrand.Primary].Circuit, Is.EqualTo(HelixCircuitState.Open));
            Assert.That(await ReadOnceAsync(dataSource), Is.EqualTo(HelixStrand.Secondary));
            Assert.That(strands.Primary.Executions, Is.EqualTo(executions), "an open circuit keeps reads away");
        });

        // The first probe, after the reset timeout, still meets the fault: the circuit stays open for another 30 s.
        // (The exact timing of each transition is FailoverPolicyTests' job; here the prober runs on its own loop.)
        await Wait.AdvancingUntilAsync(clock, TimeSpan.FromSeconds(30), () => strands.Primary.Executions > executions, "the prober probes the primary");
        Assert.That(dataSource.GetStatus()[HelixStrand.Primary].Circuit, Is.EqualTo(HelixCircuitState.Open));

        strands.Primary.Heal();
        await Wait.AdvancingUntilAsync(clock, TimeSpan.FromSeconds(30), () => dataSource.GetStatus()[HelixStrand.Primary].Circuit == HelixCircuitState.Closed, "a successful probe closes the circuit");
        Assert.That(await ReadOnceAsync(dataSource), Is.EqualTo(HelixStrand.Primary));
    }

    [Test]
    public async Task LatencyCircuitBreaker_moves_reads_off_a_slow_strand_and_back_when_it_is_fast()
    {
        var clock = Wait.Clock();
        await using var strands = Strands("Read Strategy=PrimaryOnly;Failover=LatencyCircuitBreaker;Latency Cap=200;Circuit Threshold=2;Circuit Reset=10", clock);
        strands.Primary.BeforeExecute(text => clock.Advance(TimeSpan.FromMilliseconds(500)));
        var dataSource = strands.DataSource;
        Assert.Multiple(async () =>
        {
            Assert.That(await ReadOnceAsync(dataSource), Is.EqualTo(HelixStrand.Primary), "a slow read still returns its result");
            Assert.That(await ReadOnceAsync(dataSource), Is.EqualTo(HelixStrand.Primary));
            Assert.That(dataSource.GetStatus()[HelixStrand.Primary].Circuit, Is.EqualTo(HelixCircuitState.Open), "two slow reads open the circuit");
            Assert.That(await ReadOnceAsync(dataSource), Is.EqualTo(HelixStrand.Secondary));
        });

        strands.Primary.BeforeExecute(null);
        await Wait.AdvancingUntilAsync(clock, TimeSpan.FromSeconds(10), () => dataSource.GetStatus()[HelixStrand.Primary].Circuit == HelixCircuitState.Closed, "a fast probe closes the circuit");
        Assert.That(await ReadOnceAsync(dataSource), Is.EqualTo(HelixStrand.Primary));
    }

    [Test]
    public async Task Adaptive_defers_a_slow_strand_keeps_it_in_order_and_brings_it_back_when_fast()
    {
        var clock = Wait.Clock();
        await using var strands = Strands("Write Strategy=Adaptive;Read Strategy=PrimaryOnly;Replay Poll Interval=100", clock);
        SlowInserts(strands, HelixStrand.Secondary, clock, 500);
        var dataSource = strands.DataSource;
        for (var id = 1; id <= 3; id++)
        {
            await WriteOnceAsync(dataSource, id);
        }

        var status = dataSource.GetStatus()[HelixStrand.Secondary];
        Assert.Multiple(() =>
        {
            Assert.That(status.IsDeferred, Is.True, Wait.Describe(dataSource.GetStatus()));
            Assert.That(status.State, Is.EqualTo(HelixStrandState.CatchingUp));
            Assert.That(status.DeferReason, Does.Contain("slower than primary by more than 300 ms for 3 writes in a row"));
        });

        // Deferred: writes are queued for the secondary and the worker applies them in order; reads stay on the primary.
        for (var id = 4; id <= 10; id++)
        {
            await WriteOnceAsync(dataSource, id);
        }

        Assert.That(await ReadOnceAsync(dataSource), Is.EqualTo(HelixStrand.Primary));

        // The secondary turns fast: five fast applies or idle probes end the deferral, and it heals.
        strands.Secondary.BeforeExecute(null);
        await Wait.UntilAsync(
            () =>
            {
                clock.Advance(TimeSpan.FromMilliseconds(100));
                return dataSource.GetStatus()[HelixStrand.Secondary].State == HelixStrandState.Healthy;
            },
            "the secondary recovers and heals");
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT id FROM w ORDER BY id"), Is.EqualTo(strands.Files.Rows(HelixStrand.Primary, "SELECT id FROM w ORDER BY id")));
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT count(*) FROM w"), Is.EqualTo(new[] { "10" }));
            Assert.That(dataSource.GetStatus().ReplayApplied, Is.GreaterThan(0), "the deferred writes came by replay");
        });
    }

    [Test]
    public async Task A_deferred_strand_is_resumed_when_the_other_strand_fails()
    {
        var clock = Wait.Clock();
        await using var strands = Strands("Write Strategy=Adaptive;Adaptive Cap=100", clock);
        SlowInserts(strands, HelixStrand.Secondary, clock, 150);
        var dataSource = strands.DataSource;
        await WriteOnceAsync(dataSource, 1);
        Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].IsDeferred, Is.True, "one write above the cap defers");

        // The write goes directly to the primary only, which faults after the statement was sent: it may have been applied
        // there, so both strands get it by replay, and the caller is told the outcome is unknown (contract section 5).
        strands.Primary.FailExecutions(FaultPlan.IoError); // probes too: the primary stays failed
        Assert.That(() => WriteOnceAsync(dataSource, 2), Throws.TypeOf<HelixException>().With.Message.Contains("outcome is unknown"));
        await Wait.UntilAsync(() => !dataSource.GetStatus()[HelixStrand.Secondary].IsDeferred, "the secondary is no longer deferred");

        // The secondary heals (its backlog is applied) and takes the next write directly.
        await WriteOnceAsync(dataSource, 3);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT id FROM w ORDER BY id"), Is.EqualTo(new[] { "1", "2", "3" }));

        strands.Primary.Heal();
        await Wait.UntilAsync(
            () =>
            {
                clock.Advance(TimeSpan.FromMilliseconds(100));
                return dataSource.GetStatus().IsConverged;
            },
            "both strands converge");
        Assert.That(strands.Files.Rows(HelixStrand.Primary, "SELECT id FROM w ORDER BY id"), Is.EqualTo(new[] { "1", "2", "3" }));
    }

    [TestCase("", new[] { HelixStrand.Primary, HelixStrand.Secondary })]
    [TestCase(";Write Order=secondary-first", new[] { HelixStrand.Secondary, HelixStrand.Primary })]
    public async Task Sequential_writes_run_in_the_configured_order(string order, HelixStrand[] expected)
    {
        var clock = Wait.Clock();
        await using var strands = Strands("Write Strategy=Sequential" + order, clock);
        var seen = new List<HelixStrand>();
        strands.Primary.BeforeExecute(text => { if (text == Write) { seen.Add(HelixStrand.Primary); } });
        strands.Secondary.BeforeExecute(text => { if (text == Write) { seen.Add(HelixStrand.Secondary); } });
        await WriteOnceAsync(strands.DataSource, 1);
        await WriteOnceAsync(strands.DataSource, 2);
        Assert.That(seen, Is.EqualTo(expected.Concat(expected)));
    }

    [Test]
    public async Task A_custom_read_strategy_routes_reads()
    {
        var clock = Wait.Clock();
        await using var strands = Strands(string.Empty, clock, b => b.UseReadStrategy(new SecondaryAlways()));
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary));
        Assert.That(strands.DataSource.ReadStrategy, Is.InstanceOf<SecondaryAlways>());
    }

    [Test]
    public async Task A_custom_read_strategy_is_told_how_long_each_read_took()
    {
        // Built-in strategies ignore the time and reads are then not timed; a custom one may use it.
        var clock = Wait.Clock();
        var strategy = new SecondaryAlways();
        await using var strands = Strands(string.Empty, clock, b => b.UseReadStrategy(strategy));
        strands.Secondary.BeforeExecute(text => clock.Advance(TimeSpan.FromMilliseconds(7)));
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary));
        Assert.That(strategy.Successes, Is.EqualTo(new[] { (HelixStrand.Secondary, TimeSpan.FromMilliseconds(7)) }));
    }

    [Test]
    public void A_key_that_code_replaced_is_refused_and_a_key_without_effect_is_logged()
    {
        using var files = new SqliteStrands("conflict");
        var e = Assert.Throws<ArgumentException>(() => new HelixDataSourceBuilder(files.ConnectionString("Sticky Cooldown=10")).UseReadStrategy(new SecondaryAlways()).Build().Dispose());
        Assert.Multiple(() =>
        {
            Assert.That(e!.ParamName, Is.EqualTo("Sticky Cooldown"));
            Assert.That(e.Message, Does.Contain("UseReadStrategy"));
        });

        using var logs = new CollectingLoggerProvider();
        using var factory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => Microsoft.Extensions.Logging.LoggingBuilderExtensions.AddProvider(b, logs));
        new HelixDataSourceBuilder(files.ConnectionString("Circuit Threshold=5")).UseLoggerFactory(factory).Build().Dispose();
        new HelixDataSourceBuilder(files.ConnectionString("Replay=None;Replay Memory Limit=1GB")).UseLoggerFactory(factory).Build().Dispose();
        Assert.That(logs.Entries.Select(x => x.Message), Has.Some.Contains("'Circuit Threshold' has no effect: it applies to Failover=CircuitBreaker"));
        Assert.That(logs.Entries.Select(x => x.Message), Has.Some.Contains("'Replay Memory Limit' has no effect: it bounds the in-memory queue"));
    }

    private sealed class SecondaryAlways : IHelixReadStrategy
    {
        public HelixStrand? Choose(IHelixStrandView strands) => strands.CanRead(HelixStrand.Secondary) ? HelixStrand.Secondary : null;

        public HelixStrand? Preview(IHelixStrandView strands) => Choose(strands);

        public HelixStrand? OnFailure(HelixStrand failed, IHelixStrandView strands) => failed == HelixStrand.Secondary ? HelixStrand.Primary : null;

        public List<(HelixStrand Strand, TimeSpan Elapsed)> Successes { get; } = [];

        public void OnSuccess(HelixStrand strand, TimeSpan elapsed) => Successes.Add((strand, elapsed));
    }
}
