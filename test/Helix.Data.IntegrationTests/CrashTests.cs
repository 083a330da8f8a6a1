using System.Diagnostics;
using System.Globalization;
using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// No acknowledged write is lost when the process dies: a child process writes to two PostgreSQL strands while one is
/// down, and is killed with SIGKILL mid-run; the strand is restarted; a new process with the same configuration
/// starts its worker; every write the child acknowledged ends up on both strands, and the strands are identical.
/// </summary>
public class CrashTests : PostgresTestBase
{
    public enum Store
    {
        Nats,
        File,
    }

    [Test]
    public async Task A_killed_process_loses_no_acknowledged_write([Values] Store queue)
    {
        PostgresServers.RequireFaultControl();
        await ExecuteOnBothAsync("CREATE TABLE crash (id int PRIMARY KEY, v text NOT NULL, version bigint NOT NULL)");
        var replay = queue == Store.Nats
            ? await NatsServer.UrlAsync()
            : "file:" + Path.Combine(Directory.CreateTempSubdirectory("helix-crash-").FullName, "replay.db");
        var connectionString = HelixConnectionString($"Replay={replay}", inner: ";Timeout=2;Command Timeout=5");
        await PostgresServers.Secondary.KillAsync();

        var acknowledged = await RunChildUntilKilledAsync(connectionString, acknowledgements: 300);

        await PostgresServers.Secondary.StartAsync();
        const string Everything = "SELECT id, v, version FROM crash ORDER BY id";
        List<string> primary, secondary;

        // The same configuration, with a short in-doubt timeout so that the write the child had in flight when it died
        // (recorded as an intent) is brought to both strands within the test.
        await using (var dataSource = new HelixDataSourceBuilder(connectionString).ConfigureReplay(o => o.InDoubtTimeout = TimeSpan.FromSeconds(2)).Build())
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await WaitForEveryRowAsync(acknowledged, timeout.Token);
            do
            {
                await dataSource.WaitForReplayAsync(timeout.Token);
                primary = await RowsAsync(HelixStrand.Primary, Everything);
                secondary = await RowsAsync(HelixStrand.Secondary, Everything);
            }
            while (!primary.SequenceEqual(secondary) && await Delay(timeout.Token));
        }
        var onSecondary = secondary.Select(r => int.Parse(r.Split('|')[0], CultureInfo.InvariantCulture)).ToHashSet();
        TestContext.Out.WriteLine($"{queue}: the child acknowledged {acknowledged.Count} writes before SIGKILL; primary {primary.Count} rows, secondary {secondary.Count}");
        Assert.Multiple(() =>
        {
            Assert.That(acknowledged.Where(id => !onSecondary.Contains(id)), Is.Empty, "every acknowledged write reached the strand that was down");
            Assert.That(secondary, Is.EqualTo(primary), "the strands are identical");
        });
    }

    /// <summary>Starts the child writer, reads its acknowledgements, and kills it with SIGKILL once it made enough.</summary>
    private static async Task<List<int>> RunChildUntilKilledAsync(string connectionString, int acknowledgements)
    {
        var testFolder = Path.GetDirectoryName(typeof(CrashTests).Assembly.Location)!;
        var child = testFolder.Replace("Helix.Data.IntegrationTests", "Helix.Data.CrashWriter", StringComparison.Ordinal);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(child, "Helix.Data.CrashWriter.dll"));
        start.ArgumentList.Add(connectionString);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("The child writer did not start.");
        var errors = process.StandardError.ReadToEndAsync();
        var acknowledged = new List<int>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            while (acknowledged.Count < acknowledgements && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("ACK ", StringComparison.Ordinal))
                {
                    acknowledged.Add(int.Parse(line[4..], CultureInfo.InvariantCulture));
                }
            }
        }
        finally
        {
            process.Kill(); // SIGKILL: no shutdown, no flush, no dispose
            await process.WaitForExitAsync(CancellationToken.None);
        }

        // Lines the child printed before it died are acknowledgements too.
        while (await process.StandardOutput.ReadLineAsync(CancellationToken.None) is { } line)
        {
            if (line.StartsWith("ACK ", StringComparison.Ordinal))
            {
                acknowledged.Add(int.Parse(line[4..], CultureInfo.InvariantCulture));
            }
        }

        Assert.That(acknowledged, Has.Count.GreaterThanOrEqualTo(acknowledgements), $"the child acknowledged too few writes; its errors: {await errors}");
        return acknowledged;
    }

    /// <summary>A bounded poll: false once the test's time is up.</summary>
    private static async Task<bool> Delay(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(200, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task WaitForEveryRowAsync(List<int> acknowledged, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var count = int.Parse((await RowsAsync(HelixStrand.Secondary, $"SELECT count(*) FROM crash WHERE id <= {acknowledged.Max()}")).Single(), CultureInfo.InvariantCulture);
            if (count >= acknowledged.Count)
            {
                return;
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}
