using System.Data;
using System.Data.Common;
using Helix.Data.Replay;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Helix.Data.Tests;

/// <summary>The memory queue's budget is only as good as its estimate of what an entry holds: measured here against the heap.</summary>
public class ReplayEntrySizeTests
{
    private const string Upsert = "INSERT INTO events (id, worker, v, version) VALUES (@id, @worker, @v, @helix_ts) "
        + "ON CONFLICT (id) DO UPDATE SET worker = excluded.worker, v = excluded.v, version = excluded.version WHERE events.version < excluded.version";

    [TestCase("Npgsql")]
    [TestCase("Sqlite")]
    public void The_estimate_covers_what_entries_hold_on_the_heap_and_stays_within_twice_that(string provider)
    {
        const int Count = 20_000;
        DbParameter Parameter(string name, object value) => provider == "Npgsql" ? new NpgsqlParameter(name, value) : new SqliteParameter(name, value);
        HelixReplayEntry Make(int i) => new(
            Guid.CreateVersion7(), HelixStrand.Secondary, 1_780_000_000_000_000 + i, DateTimeOffset.UtcNow, HelixReplayPriority.High,
            [new HelixReplayStatement(new string(Upsert.AsSpan()), CommandType.Text, [Parameter("id", Guid.NewGuid()), Parameter("worker", i % 16), Parameter("v", (long)i), Parameter("helix_ts", 1_780_000_000_000_000L + i)], null)],
            isTransaction: false,
            error: "NpgsqlException: Exception while reading from stream");

        _ = Make(0); // load the types before measuring
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var entries = new HelixReplayEntry[Count];
        for (var i = 0; i < Count; i++)
        {
            entries[i] = Make(i);
        }

        var held = GC.GetTotalMemory(forceFullCollection: true) - before - (8L * Count);
        var estimated = entries.Sum(ReplayEntrySize.Estimate);
        GC.KeepAlive(entries);
        TestContext.Out.WriteLine($"{provider}: {held / Count} bytes held per entry, {estimated / Count} estimated");
        Assert.That(estimated, Is.InRange(held, 2 * held), $"held {held / Count} B per entry, estimated {estimated / Count} B");
    }
}
