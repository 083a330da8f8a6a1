using System.Text.Json;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Tool;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// The <c>helix</c> tool beside a running application on the two real PostgreSQL servers and a real nats-server: the NATS
/// queue's dead letters, fleet drains, status, and a resync that returns a strand out of sync to service.
/// </summary>
public class OperatorToolTests : PostgresTestBase
{
    [Test]
    public async Task A_dead_letter_after_a_schema_mismatch_is_retried_once_the_schema_is_fixed_and_the_strands_converge()
    {
        await ExecuteAsync(HelixStrand.Primary, "CREATE TABLE t (id int PRIMARY KEY, extra text)");
        await ExecuteAsync(HelixStrand.Secondary, "CREATE TABLE t (id int PRIMARY KEY)"); // a migration not run there
        var name = "ops" + Guid.NewGuid().ToString("N")[..8];
        var connection = HelixConnectionString($"Replay={await NatsServer.UrlAsync()}?stream={name}&subject-prefix={name}&consumer-prefix={name};Replay Max Attempts=1");
        await using var application = new HelixDataSourceBuilder(connection).ConfigureReplay(o => o.PollInterval = TimeSpan.FromMilliseconds(50)).Build();
        await using (var writer = await application.OpenConnectionAsync())
        {
            await writer.ExecuteAsync("INSERT INTO t (id, extra) VALUES (1, 'kept')");
            await writer.ExecuteAsync("INSERT INTO t (id, extra) VALUES (2, 'given up')");
        }

        var ids = new List<string>();
        await Eventually.ThatAsync(
            async () =>
            {
                var (_, listed, _) = await RunAsync("dead-letters", "list", "--connection", connection, "--json");
                ids = [.. JsonDocument.Parse(listed).RootElement.EnumerateArray().Select(l => l.GetProperty("id").GetString()!)];
                return ids.Count == 2;
            },
            "both entries are dead letters in the NATS stream");

        var (code, output, _) = await RunAsync("dead-letters", "show", ids[0], "--connection", connection);
        Assert.That(output, Does.Contain("INSERT INTO t (id, extra) VALUES (1, 'kept')").And.Contain("\"extra\""), "the statement and what the secondary said");

        await ExecuteAsync(HelixStrand.Secondary, "ALTER TABLE t ADD COLUMN extra text");
        (code, _, _) = await RunAsync("dead-letters", "retry", ids[0], "--connection", connection);
        Assert.That(code, Is.Zero);
        await Eventually.ThatAsync(async () => (await RowsAsync(HelixStrand.Secondary, "SELECT extra FROM t")).SequenceEqual(["kept"]), "the application's worker applies the retried entry");

        (code, _, _) = await RunAsync("dead-letters", "discard", ids[1], "--reason", "repaired instead", "--by", "ops@example", "--connection", connection);
        Assert.That(code, Is.Zero);
        (_, output, _) = await RunAsync("dead-letters", "list", "--discarded", "--connection", connection, "--json");
        var audit = JsonDocument.Parse(output).RootElement.EnumerateArray().Single();
        Assert.Multiple(() =>
        {
            Assert.That(audit.GetProperty("letter").GetProperty("id").GetString(), Is.EqualTo(ids[1]));
            Assert.That(audit.GetProperty("letter").GetProperty("reason").GetString(), Does.Contain("statement error"));
            Assert.That((audit.GetProperty("reason").GetString(), audit.GetProperty("by").GetString()), Is.EqualTo(("repaired instead", "ops@example")));
        });

        // The discarded row differs until it is repaired; then verify is clean.
        Assert.That((await RunAsync("verify", "--table", "t", "--connection", connection)).Code, Is.EqualTo(1));
        Assert.That((await RunAsync("repair", "--table", "t", "--from", "Primary", "--connection", connection)).Code, Is.Zero);
        Assert.That((await RunAsync("verify", "--table", "t", "--connection", connection)).Code, Is.Zero);
        Assert.That((await RunAsync("dead-letters", "list", "--connection", connection)).Code, Is.Zero, "no dead letter left");
    }

    [Test]
    public async Task Drain_status_undrain_and_a_resync_reach_the_application_through_the_bucket()
    {
        await ExecuteOnBothAsync("CREATE TABLE items (id int PRIMARY KEY, v text)");
        await ExecuteOnBothAsync("INSERT INTO items SELECT n, 'v' || n FROM generate_series(1, 50) n");
        var url = await NatsServer.UrlAsync();
        var name = "ops" + Guid.NewGuid().ToString("N")[..8];
        var connection = HelixConnectionString($"Replay={url}?stream={name}&subject-prefix={name}&consumer-prefix={name};Drain Watch={url};Drain Bucket={name}");
        await using var application = new HelixDataSourceBuilder(connection).ConfigureReplay(o => o.PollInterval = TimeSpan.FromMilliseconds(50)).Build();

        var (code, _, error) = await RunAsync("drain", "secondary", "--reason", "disk swap", "--connection", connection);
        Assert.That(code, Is.Zero, error);
        await Eventually.UntilAsync(() => application.GetStatus()[HelixStrand.Secondary] is { State: HelixStrandState.Draining, DrainReason: "disk swap" }, () => "the tool's drain reaches the application");
        (code, var output, _) = await RunAsync("status", "--connection", connection, "--json");
        var status = JsonDocument.Parse(output).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1), "a drain in force needs attention");
            Assert.That(status.GetProperty("strands").EnumerateArray().All(s => s.GetProperty("reachable").GetBoolean()), Is.True);
            Assert.That(status.GetProperty("drains").EnumerateArray().Single().GetProperty("reason").GetString(), Is.EqualTo("disk swap"));
        });
        (code, _, _) = await RunAsync("undrain", "secondary", "--connection", connection);
        Assert.That(code, Is.Zero);
        await Eventually.UntilAsync(() => application.GetStatus()[HelixStrand.Secondary].State == HelixStrandState.Healthy, () => "the undrain reaches the application");

        // The secondary misses writes no queue holds (its entry could not be stored), and leaves service.
        application.GetStrand(HelixStrand.Secondary).Controller.StoreFailed(new InvalidOperationException("the test lost a write"));
        await ExecuteAsync(HelixStrand.Secondary, "DELETE FROM items WHERE id > 40; UPDATE items SET v = 'stale' WHERE id = 3");
        await using (var writer = await application.OpenConnectionAsync())
        {
            await writer.ExecuteAsync("INSERT INTO items VALUES (51, 'while out of sync')"); // the primary only
        }

        (code, output, error) = await RunAsync("resync", "--strand", "secondary", "--state", Path.Combine(Path.GetTempPath(), name + ".json"), "--connection", connection);
        Assert.That(code, Is.Zero, output + error);
        Assert.That(output, Does.Contain("items: identical (12 rows copied)").And.Contain("the fleet was told"));
        await Eventually.UntilAsync(() => application.GetStatus()[HelixStrand.Secondary].State == HelixStrandState.Healthy, () => "the application returns the strand to service");
        await using (var writer = await application.OpenConnectionAsync())
        {
            await writer.ExecuteAsync("INSERT INTO items VALUES (52, 'after the resync')"); // both strands again
        }

        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT id, v FROM items ORDER BY id"), Is.EqualTo(await RowsAsync(HelixStrand.Primary, "SELECT id, v FROM items ORDER BY id")));
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Cli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
