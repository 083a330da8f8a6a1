using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>Contract section 6: read strategies, failover, stale reads and what a read-only connection opens.</summary>
public class ReadRoutingTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Read = "SELECT v FROM t";

    private static bool IsTestRead(string text) => text == Read;

    private static async Task<FaultyStrands> StrandsAsync(string extra, Action<HelixDataSourceBuilder>? configure = null)
    {
        var strands = new FaultyStrands(extra, configure);
        strands.Files.Execute(HelixStrand.Primary, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('from primary')");
        strands.Files.Execute(HelixStrand.Secondary, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('from secondary')");
        await Task.CompletedTask;
        return strands;
    }

    private async Task<HelixStrand> ReadOnceAsync(HelixDataSource dataSource)
    {
        await using var connection = await OpenAsync(dataSource);
        var (values, strand) = await QueryAsync(connection, Read);
        Assert.That(values.Single(), Is.EqualTo("from " + strand.ToString().ToLowerInvariant()), "the reader is the serving strand's own");
        return strand;
    }

    // throwsAtOnce: the provider's asynchronous execution throws before it returns its task, as Microsoft.Data.Sqlite's does.
    [TestCase(false)]
    [TestCase(true)]
    public async Task A_read_that_faults_fails_over_to_the_other_strand_and_marks_the_strand_failed(bool throwsAtOnce)
    {
        await using var strands = await StrandsAsync("Preferred Strand=Primary");
        strands.Primary.AsyncExecutionsThrowAtOnce = throwsAtOnce;
        strands.Primary.FailExecutions(FaultPlan.IoError, IsTestRead);
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary));
        Assert.That(strands.DataSource.GetStatus()[HelixStrand.Primary].LastError, Does.Contain("disk I/O error"));
    }

    [Test]
    public async Task A_read_its_server_ended_itself_fails_over_and_the_strand_stays_healthy()
    {
        // SQLITE_BUSY on an open connection: the strand answered (as with a lock or command timeout), it is not down.
        await using var strands = await StrandsAsync("Preferred Strand=Primary");
        strands.Primary.FailExecutions(FaultPlan.Busy, IsTestRead);
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary));
        Assert.That(strands.DataSource.GetStatus()[HelixStrand.Primary].State, Is.EqualTo(HelixStrandState.Healthy));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task With_failover_None_the_caller_gets_the_provider_error(bool throwsAtOnce)
    {
        await using var strands = await StrandsAsync("Preferred Strand=Primary;Failover=None");
        strands.Primary.AsyncExecutionsThrowAtOnce = throwsAtOnce;
        strands.Primary.FailExecutions(FaultPlan.Busy, IsTestRead);
        var thrown = Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => ReadOnceAsync(strands.DataSource));
        Assert.That(thrown!.SqliteErrorCode, Is.EqualTo(5));
    }

    [Test]
    public async Task A_read_that_faults_on_both_strands_throws_a_HelixException_with_both()
    {
        await using var strands = await StrandsAsync("Preferred Strand=Primary");
        strands.Primary.FailExecutions(FaultPlan.IoError, IsTestRead);
        strands.Secondary.FailExecutions(() => new TimeoutException("slow"), IsTestRead);
        var thrown = Assert.ThrowsAsync<HelixException>(() => ReadOnceAsync(strands.DataSource));
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.PrimaryException, Is.InstanceOf<Microsoft.Data.Sqlite.SqliteException>());
            Assert.That(thrown.SecondaryException, Is.InstanceOf<TimeoutException>());
        });
    }

    [Test]
    public async Task A_read_both_servers_ended_themselves_throws_the_first_strand_s_own_exception()
    {
        // SQLITE_BUSY on an open connection: the database ended the statement (as a lock or command timeout would).
        await using var strands = await StrandsAsync("Preferred Strand=Primary");
        var busy = new Microsoft.Data.Sqlite.SqliteException("primary busy", 5);
        strands.Primary.FailExecutions(() => busy, IsTestRead);
        strands.Secondary.FailExecutions(FaultPlan.Busy, IsTestRead);
        var thrown = Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => ReadOnceAsync(strands.DataSource));
        Assert.Multiple(() =>
        {
            Assert.That(thrown, Is.SameAs(busy), "as without Helix: the provider's exception");
            Assert.That(strands.DataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy));
        });
    }

    [Test]
    public async Task A_read_refused_by_the_strand_is_not_retried_elsewhere()
    {
        await using var strands = await StrandsAsync("Preferred Strand=Primary");
        await using var connection = await OpenAsync(strands.DataSource);
        var before = strands.Secondary.Executions;
        var thrown = Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => QueryAsync(connection, "SELECT nope FROM t"));
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.SqliteErrorCode, Is.EqualTo(1));
            Assert.That(strands.Secondary.Executions, Is.EqualTo(before));
            Assert.That(strands.DataSource.GetStatus()[HelixStrand.Primary].State, Is.EqualTo(HelixStrandState.Healthy));
        });
    }

    [Test]
    public async Task Sticky_reads_stay_on_one_strand_and_the_cooldown_keeps_the_choice_from_flapping()
    {
        var clock = Wait.Clock();
        await using var strands = await StrandsAsync("Preferred Strand=Primary;Sticky Cooldown=60", b => b.UseTimeProvider(clock));
        for (var i = 0; i < 5; i++)
        {
            Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Primary), "sticky on the preferred strand");
        }

        // The primary faults: the read fails over and the choice moves to the secondary (the first move is free).
        strands.Primary.FailExecutions(FaultPlan.Busy, IsTestRead);
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary));
        strands.Primary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary), "the choice moved; a healthy primary does not pull it back");

        // Within the cooldown a fault on the secondary moves the reads, not the choice: they come back with its health.
        clock.Advance(TimeSpan.FromSeconds(30));
        strands.Secondary.FailExecutions(FaultPlan.Busy, IsTestRead);
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Primary), "failed over");
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary), "the choice stayed during the cooldown");

        // After the cooldown the next fault moves the choice again.
        clock.Advance(TimeSpan.FromSeconds(31));
        strands.Secondary.FailExecutions(FaultPlan.Busy, IsTestRead);
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Primary));
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Primary), "the choice moved after the cooldown");
    }

    [Test]
    public async Task Sticky_without_a_preference_picks_one_strand_per_data_source()
    {
        await using var strands = await StrandsAsync(string.Empty);
        var first = await ReadOnceAsync(strands.DataSource);
        for (var i = 0; i < 10; i++)
        {
            Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(first));
        }
    }

    [Test]
    public async Task PrimaryOnly_reads_the_primary_and_the_secondary_only_while_the_primary_is_not_healthy()
    {
        await using var strands = await StrandsAsync("Read Strategy=PrimaryOnly");
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Primary));
        strands.Primary.FailExecutions(FaultPlan.Busy, IsTestRead);
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary));
        strands.Primary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Primary));
    }

    [Test]
    public async Task RoundRobin_alternates_between_the_healthy_strands()
    {
        await using var strands = await StrandsAsync("Read Strategy=round-robin");
        var served = new List<HelixStrand>();
        for (var i = 0; i < 6; i++)
        {
            served.Add(await ReadOnceAsync(strands.DataSource));
        }

        Assert.Multiple(() =>
        {
            Assert.That(served.Count(s => s == HelixStrand.Primary), Is.EqualTo(3));
            Assert.That(served.Zip(served.Skip(1)).All(p => p.First != p.Second), Is.True, string.Join(",", served));
        });
    }

    [Test]
    public async Task Reads_avoid_a_strand_that_is_not_healthy_and_use_it_only_as_a_last_resort()
    {
        await using var strands = await StrandsAsync("Preferred Strand=Primary");
        strands.DataSource.Drain(HelixStrand.Primary, "maintenance");
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary));
        strands.DataSource.Drain(HelixStrand.Secondary, "maintenance too");
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.AnyOf(HelixStrand.Primary, HelixStrand.Secondary), "a stale read beats no read");
        strands.DataSource.Undrain(HelixStrand.Primary);
        strands.DataSource.Undrain(HelixStrand.Secondary);
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(await ReadOnceAsync(strands.DataSource), Is.EqualTo(HelixStrand.Secondary), "sticky: the choice moved when the primary left service");
    }

    [Test]
    public async Task A_connection_used_only_for_reads_opens_one_inner_connection()
    {
        await using var strands = await StrandsAsync("Preferred Strand=Secondary");
        await using var connection = await OpenAsync(strands.DataSource);
        for (var i = 0; i < 3; i++)
        {
            await QueryAsync(connection, Read);
        }

        Assert.Multiple(() =>
        {
            Assert.That(connection.GetInnerConnection(HelixStrand.Secondary), Is.Not.Null);
            Assert.That(connection.GetInnerConnection(HelixStrand.Primary), Is.Null);
        });
        await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES ('x')");
        Assert.That(connection.GetInnerConnection(HelixStrand.Primary), Is.Not.Null, "a write opens the other strand");
    }

    [Test]
    public async Task Open_skips_a_strand_that_cannot_be_opened()
    {
        await using var strands = await StrandsAsync("Preferred Strand=Primary");
        strands.Primary.FailOpens(FaultPlan.Busy);
        await using var connection = await OpenAsync(strands.DataSource);
        Assert.Multiple(() =>
        {
            Assert.That(connection.GetInnerConnection(HelixStrand.Primary), Is.Null);
            Assert.That(connection.GetInnerConnection(HelixStrand.Secondary), Is.Not.Null);
        });
        var (_, strand) = await QueryAsync(connection, Read);
        Assert.That(strand, Is.EqualTo(HelixStrand.Secondary));
    }

    [Test]
    public async Task Open_fails_with_both_errors_when_no_strand_opens()
    {
        await using var strands = await StrandsAsync("Preferred Strand=Primary");
        strands.Primary.FailOpens(FaultPlan.Busy);
        strands.Secondary.FailOpens(() => new TimeoutException("no answer"));
        var thrown = Assert.ThrowsAsync<HelixException>(() => OpenAsync(strands.DataSource));
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.PrimaryException, Is.InstanceOf<Microsoft.Data.Sqlite.SqliteException>());
            Assert.That(thrown.SecondaryException, Is.InstanceOf<TimeoutException>());
        });
    }
}
