using Dapper;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Nats;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Helix.Data.IntegrationTests;

/// <summary>Fleet-wide drain mode through a real nats-server's key-value bucket, and the NATS queue's URL options.</summary>
public class NatsDrainTests : PostgresTestBase
{
    private static string Describe(HelixDataSource dataSource) =>
        string.Join("; ", dataSource.GetStatus().Strands.Select(s => $"{s.Name}={s.State} backlog={s.Backlog} drain={s.DrainReason}"));

    [Test]
    public async Task A_key_in_the_bucket_drains_a_strand_across_the_fleet_and_deleting_it_catches_the_strand_up()
    {
        var url = await NatsServer.UrlAsync();
        var bucket = "drain-" + Guid.NewGuid().ToString("N")[..8];
        await ExecuteOnBothAsync("CREATE TABLE items (id int PRIMARY KEY, v text)");
        var connectionString = HelixConnectionString($"Drain Watch={url};Drain Bucket={bucket};Preferred Strand=Secondary");
        await using var nats = new NatsConnection(new NatsOpts { Url = url });
        var options = new NatsDrainWatchOptions { Bucket = bucket };

        await using var first = HelixDataSource.Create(connectionString);
        await NatsDrainWatch.DrainAsync(nats, "secondary", "maintenance window", options);
        await using var second = HelixDataSource.Create(connectionString); // starts while the strand is drained
        foreach (var dataSource in new[] { first, second })
        {
            await Eventually.UntilAsync(
                () => dataSource.GetStatus()[HelixStrand.Secondary] is { State: HelixStrandState.Draining, DrainReason: "maintenance window" },
                () => "the key drains the secondary: " + Describe(dataSource));
        }

        // Drained: writes are queued for the secondary, not applied; reads go to the primary.
        for (var id = 0; id < 20; id++)
        {
            await using var connection = await (id % 2 == 0 ? first : second).OpenConnectionAsync();
            await connection.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", new { id, v = "v" + id });
        }

        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT id FROM items"), Is.Empty, "a drained strand gets no writes");
        await using (var connection = await first.OpenConnectionAsync())
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM items";
            await using var reader = (HelixDataReader)await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            Assert.Multiple(() =>
            {
                Assert.That(reader.Strand, Is.EqualTo(HelixStrand.Primary), "reads avoid the drained strand, preferred or not");
                Assert.That(reader.GetInt64(0), Is.EqualTo(20));
            });
        }

        Assert.That(first.GetStatus()[HelixStrand.Secondary].Backlog + second.GetStatus()[HelixStrand.Secondary].Backlog, Is.EqualTo(20));

        await NatsDrainWatch.UndrainAsync(nats, "secondary", options);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await first.WaitForReplayAsync(timeout.Token);
        await second.WaitForReplayAsync(timeout.Token);
        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT id, v FROM items ORDER BY id"), Is.EqualTo(await RowsAsync(HelixStrand.Primary, "SELECT id, v FROM items ORDER BY id")).And.Count.EqualTo(20));
    }

    [Test]
    public async Task A_key_prefix_separates_fleets_and_an_unknown_key_is_ignored()
    {
        var url = await NatsServer.UrlAsync();
        var bucket = "drain-" + Guid.NewGuid().ToString("N")[..8];
        await using var nats = new NatsConnection(new NatsOpts { Url = url });
        var orders = new NatsDrainWatchOptions { Bucket = bucket, KeyPrefix = "orders." };
        var watch = new NatsDrainWatch(nats, orders); // the data source disposes it
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString()).UseDrainWatch(watch).Build();
        await watch.Ready.WaitAsync(TimeSpan.FromSeconds(30));

        await NatsDrainWatch.DrainAsync(nats, "primary", "other fleet", new NatsDrainWatchOptions { Bucket = bucket, KeyPrefix = "billing." });
        await NatsDrainWatch.DrainAsync(nats, "nosuchstrand", "typo", orders);
        await NatsDrainWatch.DrainAsync(nats, "primary", "ours", orders);
        await Eventually.UntilAsync(() => dataSource.GetStatus()[HelixStrand.Primary].DrainReason == "ours", () => "our key drains the primary: " + Describe(dataSource));
        Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.Healthy));
    }

    [Test]
    public async Task Processes_starting_together_on_a_new_bucket_all_open_it()
    {
        // NATS.Net creates a missing bucket after an update finds none; processes starting at once all find none, and
        // the server refused all creations but the first ("subjects overlap with an existing stream").
        var url = await NatsServer.UrlAsync();
        for (var round = 0; round < 100; round++)
        {
            var options = new NatsDrainWatchOptions { Bucket = "drain-" + Guid.NewGuid().ToString("N")[..8] };
            var connections = Enumerable.Range(0, 8).Select(_ => new NatsConnection(new NatsOpts { Url = url })).ToArray();
            try
            {
                await Task.WhenAll(connections.Select(c => c.ConnectAsync().AsTask()));
                await Task.WhenAll(connections.Select((c, i) => NatsDrainWatch.DrainAsync(c, "secondary", "process " + i, options)));
            }
            finally
            {
                foreach (var connection in connections)
                {
                    await connection.DisposeAsync();
                }
            }
        }
    }

    private static INatsJSStream? TryGetStream(NatsJSContext js, string name)
    {
        try
        {
            return js.GetStreamAsync(name).AsTask().GetAwaiter().GetResult();
        }
        catch (NatsJSApiException)
        {
            return null;
        }
    }

    [Test]
    public async Task The_replay_url_carries_the_stream_settings_and_refuses_an_unknown_one()
    {
        var url = await NatsServer.UrlAsync();
        var name = "q" + Guid.NewGuid().ToString("N")[..8];
        await using var nats = new NatsConnection(new NatsOpts { Url = url });
        var js = new NatsJSContext(nats);
        INatsJSStream? stream = null;
        await using (var dataSource = HelixDataSource.Create(HelixConnectionString($"Replay={url}?stream={name}&subject-prefix={name}&consumer-prefix={name}&max-age=3600&duplicate_window=60")))
        {
            // The worker creates the stream in the background, as the data source starts.
            await Eventually.UntilAsync(() => (stream = TryGetStream(js, name)) is not null, () => $"stream {name} exists");
        }

        Assert.Multiple(() =>
        {
            Assert.That(stream!.Info.Config.MaxAge, Is.EqualTo(TimeSpan.FromHours(1)));
            Assert.That(stream.Info.Config.DuplicateWindow, Is.EqualTo(TimeSpan.FromMinutes(1)));
            Assert.That(stream.Info.Config.Subjects, Has.All.StartWith(name + "."));
        });

        var e = Assert.Throws<ArgumentException>(() => HelixDataSource.Create(HelixConnectionString($"Replay={url}?streem=x")).Dispose());
        Assert.That(e!.Message, Does.Contain("'streem'").And.Contain("subject-prefix"));
    }
}
