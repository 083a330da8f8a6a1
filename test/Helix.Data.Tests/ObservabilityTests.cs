using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Helix.Data.Strategies;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>Contract section 9: what the meter and the activity source report for writes, reads, failovers, replays and circuits.</summary>
public class ObservabilityTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Read = "SELECT v FROM t";

    private static FaultyStrands Strands(string name, string extra = "", Action<HelixDataSourceBuilder>? configure = null)
    {
        var strands = new FaultyStrands($"Name={name};Preferred Strand=Primary" + (extra.Length > 0 ? ";" + extra : string.Empty), configure);
        strands.Files.ExecuteOnBoth("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x'); CREATE TABLE w (id INTEGER PRIMARY KEY)");
        return strands;
    }

    private async Task WriteAsync(HelixDataSource dataSource, int id)
    {
        await using var connection = await OpenAsync(dataSource);
        await ExecuteNonQueryAsync(connection, "INSERT INTO w (id) VALUES (@id)", ("id", id));
    }

    private async Task<HelixStrand> ReadAsync(HelixDataSource dataSource)
    {
        await using var connection = await OpenAsync(dataSource);
        return (await QueryAsync(connection, Read)).Strand;
    }

    [Test]
    public async Task Writes_and_reads_are_counted_and_timed_per_strand()
    {
        using var metrics = new MetricsCollector("obs_rw");
        await using var strands = Strands("obs_rw");
        await WriteAsync(strands.DataSource, 1);
        await ReadAsync(strands.DataSource);
        Assert.Multiple(() =>
        {
            Assert.That(metrics.Sum("helix.writes", "primary"), Is.EqualTo(1));
            Assert.That(metrics.Sum("helix.writes", "secondary"), Is.EqualTo(1));
            Assert.That(metrics.Sum("helix.reads", "primary"), Is.EqualTo(1));
            Assert.That(metrics.Count("helix.strand.duration", "primary", ("helix.operation", "write")), Is.EqualTo(1));
            Assert.That(metrics.Count("helix.strand.duration", "secondary", ("helix.operation", "write")), Is.EqualTo(1));
            Assert.That(metrics.Count("helix.command.duration", "primary", ("helix.operation", "write")), Is.EqualTo(1), "the caller's wait, once per write");
            Assert.That(metrics.Count("helix.command.duration", "primary", ("helix.operation", "read")), Is.EqualTo(1));
            Assert.That(metrics.Units["helix.command.duration"], Is.EqualTo("s"));
        });
    }

    [Test]
    public async Task A_failover_a_replay_and_the_gauges_tell_what_happened()
    {
        using var metrics = new MetricsCollector("obs_replay");
        await using var strands = Strands("obs_replay");
        strands.Secondary.FailExecutions(FaultPlan.Busy);
        strands.Secondary.FailOpens(FaultPlan.Busy);
        await WriteAsync(strands.DataSource, 1);
        await WriteAsync(strands.DataSource, 2);
        metrics.Observe();
        Assert.Multiple(() =>
        {
            Assert.That(metrics.Sum("helix.replay.enqueued", "secondary"), Is.EqualTo(2));
            Assert.That(metrics.Last("helix.replay.backlog", "secondary"), Is.EqualTo(2));
            Assert.That(metrics.Last("helix.strand.state", "secondary", ("helix.strand.state", "failed")), Is.EqualTo(1));
            Assert.That(metrics.Last("helix.strand.state", "secondary", ("helix.strand.state", "healthy")), Is.Zero);
            Assert.That(metrics.Last("helix.strand.state", "primary", ("helix.strand.state", "healthy")), Is.EqualTo(1));
        });

        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        metrics.Observe();
        Assert.Multiple(() =>
        {
            Assert.That(metrics.Sum("helix.replay.applied", "secondary"), Is.EqualTo(2));
            Assert.That(metrics.Count("helix.replay.duration", "secondary"), Is.GreaterThanOrEqualTo(1));
            Assert.That(metrics.Last("helix.replay.backlog", "secondary"), Is.Zero);
            Assert.That(metrics.Last("helix.strand.state", "secondary", ("helix.strand.state", "healthy")), Is.EqualTo(1));
        });

        strands.Primary.FailExecutions(FaultPlan.Busy, text => text == Read);
        Assert.That(await ReadAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary));
        Assert.That(metrics.Sum("helix.failovers", "primary"), Is.EqualTo(1), "tagged with the strand that faulted");
    }

    [Test]
    public async Task Circuit_changes_are_counted_and_the_circuit_gauge_shows_the_state()
    {
        using var metrics = new MetricsCollector("obs_circuit");
        var clock = Wait.Clock();
        await using var strands = Strands("obs_circuit", "Failover=CircuitBreaker;Circuit Threshold=1", b => b.UseTimeProvider(clock));
        strands.Primary.FailExecutions(FaultPlan.Busy, text => text == Read);
        Assert.That(await ReadAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary));
        metrics.Observe();
        Assert.Multiple(() =>
        {
            Assert.That(metrics.Sum("helix.circuit.transitions", "primary", ("helix.circuit.state", "open")), Is.EqualTo(1));
            Assert.That(metrics.Last("helix.circuit.state", "primary", ("helix.circuit.state", "open")), Is.EqualTo(1));
            Assert.That(metrics.Last("helix.circuit.state", "secondary", ("helix.circuit.state", "closed")), Is.EqualTo(1));
            Assert.That(strands.DataSource.GetStatus()[HelixStrand.Primary].Circuit, Is.EqualTo(HelixCircuitState.Open));
        });
    }

    [Test]
    public async Task A_write_is_a_span_with_a_child_per_strand_and_a_failover_shows_in_the_read_span()
    {
        using var activities = new Activities();
        await using var strands = Strands("obs_spans");
        await WriteAsync(strands.DataSource, 1);
        var write = activities.Single("helix.write");
        var children = activities.ChildrenOf(write);
        Assert.Multiple(() =>
        {
            Assert.That(write.GetTagItem("helix.data_source"), Is.EqualTo("obs_spans"));
            Assert.That(write.GetTagItem("helix.strand"), Is.EqualTo("primary"), "the strand whose result the caller got");
            Assert.That(children.Select(c => c.GetTagItem("helix.strand")), Is.EquivalentTo(new[] { "primary", "secondary" }));
            Assert.That(children.Select(c => c.DisplayName), Is.All.EqualTo("helix.strand"));
        });

        await AssertFailoverSpansAsync(strands, activities);
    }

    /// <summary>Fails the primary's reads and checks the read's span: failed over, one child per try, the first an error.</summary>
    private async Task AssertFailoverSpansAsync(FaultyStrands strands, Activities activities)
    {
        strands.Primary.FailExecutions(FaultPlan.Busy, text => text == Read);
        Assert.That(await ReadAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary));
        var read = activities.Single("helix.read");
        var tries = activities.ChildrenOf(read);
        Assert.Multiple(() =>
        {
            Assert.That(read.GetTagItem("helix.failover"), Is.EqualTo(true));
            Assert.That(read.GetTagItem("helix.strand"), Is.EqualTo("secondary"));
            Assert.That(read.Status, Is.EqualTo(ActivityStatusCode.Unset));
            Assert.That(tries.Select(t => t.GetTagItem("helix.strand")), Is.EquivalentTo(new[] { "primary", "secondary" }), "a try's span is a child of the read's");
            Assert.That(tries.Single(t => (string?)t.GetTagItem("helix.strand") == "primary").Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(tries.Single(t => (string?)t.GetTagItem("helix.strand") == "primary").GetTagItem("helix.error.kind"), Is.EqualTo("strand_fault"));
            Assert.That(activities.All("helix.strand").Count(s => s.TraceId == read.TraceId), Is.EqualTo(2), "every strand span ended");
            Assert.That(Activity.Current, Is.Null, "the caller's current activity is what it was");
        });
    }

    [Test]
    public async Task A_read_whose_strands_answer_later_is_traced_and_fails_over_as_one_that_answers_at_once()
    {
        // Asynchronous calls that return before they run hand the strand's run to a continuation, which must end its span,
        // and leave what the caller starts next (the failover's try, on a strand whose open is still under way) a child
        // of the read's span, not of the failed try's.
        using var activities = new Activities();
        await using var strands = Strands("obs_later");
        strands.Primary.AsyncExecutionsYield = true;
        strands.Secondary.AsyncOpensYield = true;
        Assert.That(await ReadAsync(strands.DataSource), Is.EqualTo(HelixStrand.Primary));
        var answered = activities.Single("helix.read");
        Assert.That(activities.ChildrenOf(answered).Select(c => c.GetTagItem("helix.strand")), Is.EqualTo(new[] { "primary" }));

        await AssertFailoverSpansAsync(strands, activities);
    }

    [Test]
    public async Task A_replayed_batch_is_a_root_span_of_its_own()
    {
        using var activities = new Activities();
        await using var strands = Strands("obs_replay_span");
        strands.Secondary.FailExecutions(FaultPlan.Busy);
        strands.Secondary.FailOpens(FaultPlan.Busy);
        await WriteAsync(strands.DataSource, 1);
        await WriteAsync(strands.DataSource, 2);
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        var replay = activities.All("helix.replay").Last(r => r.Status == ActivityStatusCode.Unset);
        Assert.Multiple(() =>
        {
            Assert.That(replay.GetTagItem("helix.strand"), Is.EqualTo("secondary"));
            Assert.That(replay.GetTagItem("helix.replay.entries"), Is.EqualTo(2));
            Assert.That(replay.Parent, Is.Null);
        });
    }

    /// <summary>Collects the Helix.Data activities started while it lives.</summary>
    private sealed class Activities : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<Activity> _stopped = new();

        public Activities()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "Helix.Data",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _stopped.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public Activity Single(string name) => _stopped.Where(a => a.DisplayName == name).Last();

        public List<Activity> All(string name) => [.. _stopped.Where(a => a.DisplayName == name)];

        public List<Activity> ChildrenOf(Activity parent) => [.. _stopped.Where(a => a.ParentSpanId == parent.SpanId && a.TraceId == parent.TraceId)];

        public void Dispose() => _listener.Dispose();
    }
}
