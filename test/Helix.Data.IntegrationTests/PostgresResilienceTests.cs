using System.Diagnostics;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Npgsql;

namespace Helix.Data.IntegrationTests;

/// <summary>Hedged reads, strand retries and a paced replay on the two real PostgreSQL servers.</summary>
public class PostgresResilienceTests : PostgresTestBase
{
    [Test]
    public async Task A_hedged_read_returns_the_fast_strand_s_rows_and_cancels_the_slow_strand_s_query()
    {
        await ExecuteOnBothAsync("CREATE TABLE t (v int)");
        await ExecuteAsync(HelixStrand.Primary, "INSERT INTO t VALUES (1)");
        await ExecuteAsync(HelixStrand.Secondary, "INSERT INTO t VALUES (2)");

        // The same statement, slow on the primary only: a strand that turned slow without failing.
        await ExecuteAsync(HelixStrand.Primary, "CREATE FUNCTION pause() RETURNS int LANGUAGE sql AS 'SELECT 0 FROM pg_sleep(30)'");
        await ExecuteAsync(HelixStrand.Secondary, "CREATE FUNCTION pause() RETURNS int LANGUAGE sql AS 'SELECT 0'");
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Preferred Strand=Primary;Hedge After=100;Name=hedge_pg", inner: ";Application Name=helix-hedge"));
        await using var connection = (HelixConnection)await dataSource.OpenConnectionAsync();
        await using var command = new HelixCommand("SELECT v + pause() FROM t", connection);

        var started = Stopwatch.GetTimestamp();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.That(await reader.ReadAsync(), Is.True);
            Assert.That(reader.GetInt32(0), Is.EqualTo(2), "the secondary's row");
            Assert.That(((HelixDataReader)reader).Strand, Is.EqualTo(HelixStrand.Secondary));
        }

        Assert.That(Stopwatch.GetElapsedTime(started), Is.LessThan(TimeSpan.FromSeconds(10)), "not the primary's 30 s");
        await Eventually.ThatAsync(
            async () => (await RowsAsync(HelixStrand.Primary, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'helix-hedge' AND state = 'active' AND query LIKE '%pause()%'"))[0] == "0",
            "the primary's query is cancelled");
        Assert.That(dataSource.GetStatus()[HelixStrand.Primary].State, Is.EqualTo(HelixStrandState.Healthy), "slow is not failed");

        await ExecuteAsync(HelixStrand.Primary, "CREATE OR REPLACE FUNCTION pause() RETURNS int LANGUAGE sql AS 'SELECT 0'");
        Assert.That(await connection.QuerySingleAsync<int>("SELECT v + pause() FROM t"), Is.EqualTo(1), "the same connection reads the primary again");
    }

    [Test]
    public async Task A_connection_the_server_dropped_is_retried_and_the_strand_stays_healthy()
    {
        await ExecuteOnBothAsync("CREATE TABLE t (v int); INSERT INTO t VALUES (1)");
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Preferred Strand=Primary;Name=retry_pg", inner: ";Application Name=helix-retry"));
        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.That(await connection.QuerySingleAsync<int>("SELECT v FROM t"), Is.EqualTo(1));

        // The primary's server ends the session under the open connection (a restart, an idle timeout, a proxy).
        await using (var admin = new NpgsqlConnection(PostgresServers.Primary.ConnectionString(Database) + ";Pooling=false"))
        {
            await admin.OpenAsync();
            var ended = await admin.ExecuteScalarAsync<long>("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'helix-retry') x");
            Assert.That(ended, Is.GreaterThanOrEqualTo(1));
        }

        await using var command = (HelixCommand)connection.CreateCommand();
        command.CommandText = "SELECT v FROM t";
        await using var reader = await command.ExecuteReaderAsync();
        Assert.That(await reader.ReadAsync(), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(((HelixDataReader)reader).Strand, Is.EqualTo(HelixStrand.Primary), "retried on the primary, not failed over");
            Assert.That(dataSource.GetStatus()[HelixStrand.Primary].State, Is.EqualTo(HelixStrandState.Healthy));
        });
    }

    [Test]
    public async Task A_paced_replay_holds_its_rate()
    {
        const int Writes = 120;
        const int Rate = 40;
        await ExecuteOnBothAsync("CREATE TABLE t (id int PRIMARY KEY)");
        await using var dataSource = HelixDataSource.Create(HelixConnectionString($"Replay Rate={Rate};Replay Batch Size=500;Name=rate_pg"));
        dataSource.Defer(HelixStrand.Secondary, "paced replay test"); // its writes go through replay, at the rate
        var started = Stopwatch.GetTimestamp();
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            for (var i = 0; i < Writes; i++)
            {
                await connection.ExecuteAsync("INSERT INTO t VALUES (@i)", new { i });
            }
        }

        await Eventually.ThatAsync(async () => (await RowsAsync(HelixStrand.Secondary, "SELECT count(*) FROM t"))[0] == Writes.ToString(System.Globalization.CultureInfo.InvariantCulture), "the secondary got every write by replay", TimeSpan.FromSeconds(30));
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;

        // A second's worth may go at once (the bucket starts full), the rest at the rate.
        Assert.That(elapsed, Is.GreaterThanOrEqualTo(0.9 * (Writes - Rate) / Rate), $"{Writes} entries at {Rate}/s took {elapsed:0.0} s");
        Assert.That(elapsed, Is.LessThan(Writes / (double)Rate * 2.5), "and not much longer");
    }
}
