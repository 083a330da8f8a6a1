using System.Collections.Concurrent;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// Contract amendment 33 on PostgreSQL: a write that calls <c>now()</c> or <c>gen_random_uuid()</c> stores a different
/// value on each server; Helix logs its text once, or refuses it with <c>Nondeterministic Writes=Refuse</c>. Amendment 34:
/// a <c>serial</c> key or a default that differs is reported when the write returns it.
/// </summary>
public class PostgresNondeterministicWriteTests : PostgresTestBase
{
    [SetUp]
    public Task CreateTableAsync() => ExecuteOnBothAsync("CREATE TABLE t (id int PRIMARY KEY, token uuid, at timestamptz)");

    [Test]
    public async Task By_default_the_write_runs_and_is_logged_once_and_the_servers_indeed_store_different_values()
    {
        var logs = new CollectingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString()).UseLoggerFactory(loggers).Build();
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            foreach (var id in new[] { 1, 2 })
            {
                await connection.ExecuteAsync("INSERT INTO t (id, token, at) VALUES (@id, gen_random_uuid(), clock_timestamp())", new { id });
            }
        }

        const string Tokens = "SELECT id || ':' || token FROM t ORDER BY id";
        var primary = await RowsAsync(HelixStrand.Primary, Tokens);
        var secondary = await RowsAsync(HelixStrand.Secondary, Tokens);
        Assert.Multiple(() =>
        {
            Assert.That(primary, Has.Count.EqualTo(2), "written on the primary");
            Assert.That(secondary, Has.Count.EqualTo(2), "written on the secondary");
            Assert.That(primary, Is.Not.EquivalentTo(secondary), "each server generated its own uuid: why Helix warns");
            Assert.That(Warnings(logs), Has.Count.EqualTo(1), "one warning for the text, not one per write");
            Assert.That(Warnings(logs).Single(), Does.Contain("gen_random_uuid()").And.Contain("@helix_ts"));
        });
    }

    [Test]
    public async Task With_Refuse_a_command_a_batch_and_a_transaction_s_write_are_refused_before_anything_runs()
    {
        await ExecuteOnBothAsync("INSERT INTO t (id, at) VALUES (1, '2026-12-05T10:00:00Z')");
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Nondeterministic Writes=Refuse"));
        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.That(
            async () => await connection.ExecuteAsync("UPDATE t SET at = now() WHERE id = @id", new { id = 1 }),
            Throws.TypeOf<NotSupportedException>().With.Message.Contains("now()").And.Message.Contains("Nothing was run"));

        await using (var batch = connection.CreateBatch())
        {
            batch.BatchCommands.Add(new HelixBatchCommand("INSERT INTO t (id, at) VALUES (2, '2026-12-05T11:00:00Z')"));
            batch.BatchCommands.Add(new HelixBatchCommand("UPDATE t SET token = gen_random_uuid() WHERE id = 2"));
            Assert.That(async () => await batch.ExecuteNonQueryAsync(), Throws.TypeOf<NotSupportedException>().With.Message.Contains("gen_random_uuid()"));
        }

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync("INSERT INTO t (id, at) VALUES (3, @at)", new { at = new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero) }, transaction);
            Assert.That(
                async () => await connection.ExecuteAsync("DELETE FROM t WHERE at < CURRENT_TIMESTAMP - interval '1 day'", transaction: transaction),
                Throws.TypeOf<NotSupportedException>().With.Message.Contains("CURRENT_TIMESTAMP"));
            await transaction.CommitAsync();
        }

        const string Rows = "SELECT id || ' ' || coalesce(token::text, '-') || ' ' || to_char(at AT TIME ZONE 'UTC', 'HH24:MI') FROM t ORDER BY id";
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "1 - 10:00", "3 - 12:00" }), "nothing refused ran; the transaction went on");
            Assert.That(await RowsAsync(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "1 - 10:00", "3 - 12:00" }));
            Assert.That(dataSource.GetStatus().Strands.Select(s => (s.State, s.Backlog)), Is.All.EqualTo((HelixStrandState.Healthy, 0L)));
        });
    }

    [Test]
    public async Task A_serial_key_or_a_default_that_differs_between_the_servers_is_reported_when_the_write_returns_it()
    {
        await ExecuteOnBothAsync("CREATE TABLE orders (id serial PRIMARY KEY, name text NOT NULL, created timestamptz NOT NULL DEFAULT clock_timestamp())");
        await ExecuteAsync(HelixStrand.Secondary, "SELECT nextval('orders_id_seq')"); // the sequences drift apart by one
        var divergences = new ConcurrentQueue<HelixDivergence>();
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString()).OnDivergence(divergences.Enqueue).Build();
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            var id = await connection.QuerySingleAsync<int>("INSERT INTO orders (name) VALUES (@name) RETURNING id", new { name = "dapper" });
            var scalar = await connection.ExecuteScalarAsync<int>("INSERT INTO orders (name) VALUES (@name) RETURNING id", new { name = "scalar" });
            await using var transaction = await connection.BeginTransactionAsync();
            _ = await connection.QuerySingleAsync<DateTime>("INSERT INTO orders (id, name) VALUES (@id, @name) RETURNING created", new { id = 100, name = "in a transaction" }, transaction);
            await transaction.CommitAsync();
            Assert.That((id, scalar), Is.EqualTo((1, 2)), "the primary's keys");
        }

        const string Keys = "SELECT string_agg(id || ':' || name, ',' ORDER BY name) FROM orders WHERE id < 100";
        Assert.Multiple(async () =>
        {
            Assert.That(divergences.Select(d => (d.Kind, d.Strand, d.CommandText.Split(' ')[^1])), Is.EqualTo(new[]
            {
                (HelixDivergenceKind.ReturnedValuesDiffer, HelixStrand.Secondary, "id"),
                (HelixDivergenceKind.ReturnedValuesDiffer, HelixStrand.Secondary, "id"),
                (HelixDivergenceKind.ReturnedValuesDiffer, HelixStrand.Secondary, "created"),
            }));
            Assert.That(await RowsAsync(HelixStrand.Primary, Keys), Is.EqualTo(new[] { "1:dapper,2:scalar" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, Keys), Is.EqualTo(new[] { "2:dapper,3:scalar" }), "what was reported: the same rows under other keys");
        });
    }

    [Test]
    public async Task A_job_claimed_with_SKIP_LOCKED_is_another_row_on_a_server_where_another_session_holds_the_first()
    {
        await ExecuteOnBothAsync("CREATE TABLE jobs (id int PRIMARY KEY, taken boolean NOT NULL DEFAULT false); INSERT INTO jobs (id) VALUES (1), (2)");
        const string Claim = "UPDATE jobs SET taken = true WHERE id = (SELECT id FROM jobs WHERE NOT taken ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id";
        var logs = new CollectingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString()).UseLoggerFactory(loggers).Build();

        // Another worker's session holds job 1 on the primary only (it could be on either: the servers' locks are their own).
        await using (var worker = new Npgsql.NpgsqlConnection(PostgresServers.Primary.ConnectionString(Database)))
        {
            await worker.OpenAsync();
            await using var held = await worker.BeginTransactionAsync();
            await worker.ExecuteAsync("SELECT id FROM jobs WHERE id = 1 FOR UPDATE", transaction: held);
            await using var connection = await dataSource.OpenConnectionAsync();
            Assert.That(await connection.QuerySingleAsync<int>(Claim), Is.EqualTo(2), "the primary skipped job 1");
            await held.RollbackAsync();
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT id FROM jobs WHERE taken"), Is.EqualTo(new[] { "2" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT id FROM jobs WHERE taken"), Is.EqualTo(new[] { "1" }), "the secondary claimed another job: why Helix warns");
            Assert.That(Warnings(logs), Has.Count.EqualTo(1));
            Assert.That(Warnings(logs).Single(), Does.Contain("SKIP LOCKED").And.Contain("choose rows by key"));
        });
    }

    /// <summary>Keeps the messages of Helix's event 3009.</summary>
    [Test]
    public async Task An_update_guarded_by_xmin_matches_the_row_on_the_server_it_was_read_from_only_and_is_refused_with_Refuse()
    {
        await ExecuteOnBothAsync("INSERT INTO t (id, at) VALUES (1, '2026-12-05T10:00:00Z')");
        await ExecuteAsync(HelixStrand.Secondary, "UPDATE t SET at = at WHERE id = 1"); // the servers' transaction ids part, as they do in use
        const string Guarded = "UPDATE t SET at = '2026-12-06T10:00:00Z' WHERE id = @id AND xmin = @seen::text::xid";
        var logs = new CollectingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using (var warned = new HelixDataSourceBuilder(HelixConnectionString()).UseLoggerFactory(loggers).Build())
        await using (var connection = await warned.OpenConnectionAsync())
        {
            var seen = await connection.QuerySingleAsync<string>("SELECT xmin::text FROM t WHERE id = 1 /* helix:read */");
            await connection.ExecuteAsync(Guarded, new { id = 1, seen });
        }

        await using (var refusing = HelixDataSource.Create(HelixConnectionString("Nondeterministic Writes=Refuse")))
        await using (var connection = await refusing.OpenConnectionAsync())
        {
            Assert.That(
                async () => await connection.ExecuteAsync(Guarded, new { id = 1, seen = "1" }),
                Throws.TypeOf<NotSupportedException>().With.Message.Contains("xmin (a PostgreSQL system column)").And.Message.Contains("version column"));
        }

        const string At = "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM t";
        var (primary, secondary) = (await RowsAsync(HelixStrand.Primary, At), await RowsAsync(HelixStrand.Secondary, At));
        Assert.Multiple(() =>
        {
            Assert.That(primary.Concat(secondary), Is.EquivalentTo(new[] { "2026-12-06", "2026-12-05" }), "the guarded update changed the row on one server only: why Helix warns");
            Assert.That(Warnings(logs).Single(), Does.Contain("xmin (a PostgreSQL system column)"));
        });
    }

    [Test]
    public async Task Reading_lastval_after_an_insert_gives_the_key_of_the_strand_reads_go_to_and_is_logged_once()
    {
        await ExecuteOnBothAsync("CREATE TABLE orders (id serial PRIMARY KEY, name text NOT NULL)");
        await ExecuteAsync(HelixStrand.Secondary, "SELECT nextval('orders_id_seq')"); // the sequences drifted apart by one
        var logs = new CollectingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString("Preferred Strand=Secondary")).UseLoggerFactory(loggers).Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        var keys = new List<long>();
        foreach (var name in new[] { "first", "second" })
        {
            await connection.ExecuteAsync("INSERT INTO orders (name) VALUES (@name)", new { name });
            keys.Add(await connection.ExecuteScalarAsync<long>("SELECT lastval()"));
        }

        const string Orders = "SELECT id || ':' || name FROM orders ORDER BY id";
        Assert.Multiple(async () =>
        {
            Assert.That(keys, Is.EqualTo(new[] { 2L, 3L }), "the secondary's keys: reads go there");
            Assert.That(await RowsAsync(HelixStrand.Primary, Orders), Is.EqualTo(new[] { "1:first", "2:second" }), "the primary holds them under other keys");
            Assert.That(Warnings(logs).Single(), Does.Contain("lastval()").And.Contain("RETURNING"));
        });
    }

    /// <summary>What Helix warned about nondeterministic writes (3009) and reads of the last generated key (3010).</summary>
    private static List<string> Warnings(CollectingLoggerProvider logs) => [.. logs.Entries.Where(e => e.Id.Id is 3009 or 3010).Select(e => e.Message)];
}
