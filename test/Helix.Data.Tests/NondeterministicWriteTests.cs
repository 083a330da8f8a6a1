using Helix.Data.Tests.EntityFrameworkCore;
using Helix.Data.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Tests;

/// <summary>
/// Contract amendment 33: a write whose text calls a function each strand evaluates for itself (<c>now()</c>,
/// <c>random()</c>, SQLite's <c>datetime('now')</c>) is logged once per text by default, refused with
/// <c>Nondeterministic Writes=Refuse</c>, and runs silently with <c>Allow</c>.
/// </summary>
public class NondeterministicWriteTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Count = "SELECT count(*) FROM t";
    private const int EventId = 3009;

    [Test]
    public async Task By_default_such_a_write_runs_on_both_strands_and_its_text_is_logged_once()
    {
        using var files = Files();
        using var logs = new CollectingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var dataSource = new HelixDataSourceBuilder(files.ConnectionString()).UseLoggerFactory(loggers).Build();
        await using (var connection = await OpenAsync(dataSource))
        {
            const string Stamped = "INSERT INTO t (id, at) VALUES (@id, datetime('now'))";
            await ExecuteNonQueryAsync(connection, Stamped, ("id", 1));
            await ExecuteNonQueryAsync(connection, Stamped, ("id", 2));
            await ExecuteNonQueryAsync(connection, "UPDATE t SET n = random() WHERE id = @id", ("id", 1));
            await ExecuteNonQueryAsync(connection, "INSERT INTO t (id, at) VALUES (@id, @at)", ("id", 3), ("at", "2026-12-05 10:00:00"));
            _ = await ExecuteScalarAsync(connection, "SELECT datetime('now')");
        }

        var warnings = logs.Entries.Where(e => e.Id.Id == EventId).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(files.Scalar(HelixStrand.Primary, Count), Is.EqualTo(3L), "the primary ran every write");
            Assert.That(files.Scalar(HelixStrand.Secondary, Count), Is.EqualTo(3L), "the secondary ran every write");
            Assert.That(warnings.Select(w => w.Level), Is.All.EqualTo(LogLevel.Warning));
            Assert.That(warnings, Has.Count.EqualTo(2), "once per text that calls one, none for a write with parameters or for a read");
            Assert.That(warnings[0].Message, Does.Contain("datetime('now')").And.Contain("INSERT INTO t (id, at) VALUES (@id, datetime('now'))").And.Contain("@helix_ts").And.Contain("Nondeterministic Writes=Refuse"));
            Assert.That(warnings[1].Message, Does.Contain("random()").And.Contain("UPDATE t SET n = random()"));
        });
    }

    [Test]
    public async Task With_Refuse_such_a_write_is_refused_before_it_runs_and_the_connection_goes_on()
    {
        using var files = Files();
        await using var dataSource = HelixDataSource.Create(files.ConnectionString("Nondeterministic Writes=Refuse"));
        await using var connection = await OpenAsync(dataSource);
        var refused = Assert.ThrowsAsync<NotSupportedException>(() => ExecuteNonQueryAsync(connection, "INSERT INTO t (id, at) VALUES (@id, CURRENT_TIMESTAMP)", ("id", 1)));
        Assert.That(refused!.Message, Does.Contain("CURRENT_TIMESTAMP").And.Contain("each strand evaluates for itself").And.Contain("@helix_ts").And.Contain("Nothing was run"));

        await using (var transaction = IsAsync ? await connection.BeginTransactionAsync() : connection.BeginTransaction())
        {
            await ExecuteNonQueryAsync(connection, "INSERT INTO t (id, at) VALUES (1, '2026-12-05')");
            Assert.ThrowsAsync<NotSupportedException>(() => ExecuteNonQueryAsync(connection, "UPDATE t SET at = datetime('now') WHERE id = 1"));
            await ExecuteNonQueryAsync(connection, "INSERT INTO t (id, at) VALUES (2, '2026-12-06')");
            if (IsAsync)
            {
                await transaction.CommitAsync();
            }
            else
            {
                transaction.Commit();
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT id, at FROM t ORDER BY id"), Is.EqualTo(new[] { "1|2026-12-05", "2|2026-12-06" }), "the refused writes touched nothing; the transaction went on");
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT id, at FROM t ORDER BY id"), Is.EqualTo(new[] { "1|2026-12-05", "2|2026-12-06" }));
        });
    }

    [Test]
    public async Task A_read_of_the_last_generated_key_answers_with_one_strand_s_key_and_is_logged_once_even_with_Refuse()
    {
        using var files = Files();
        files.ExecuteOnBoth("CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
        files.Execute(HelixStrand.Secondary, "INSERT INTO orders (name) VALUES ('only on the secondary')");
        using var logs = new CollectingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var keys = new List<object?>();
        foreach (var mode in new[] { "Refuse", "Allow" })
        {
            await using var dataSource = new HelixDataSourceBuilder(files.ConnectionString($"Nondeterministic Writes={mode};Preferred Strand=Secondary")).UseLoggerFactory(loggers).Build();
            await using var connection = await OpenAsync(dataSource);
            for (var i = 0; i < 2; i++)
            {
                await ExecuteNonQueryAsync(connection, "INSERT INTO orders (name) VALUES (@name)", ("name", $"{mode} {i}"));
                keys.Add(await ExecuteScalarAsync(connection, "SELECT last_insert_rowid()"));
            }
        }

        var warnings = logs.Entries.Where(e => e.Id.Id == 3010).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(keys, Is.EqualTo(new object[] { 2L, 3L, 4L, 5L }), "the secondary's keys, where reads go; the primary holds these rows as 1 to 4");
            Assert.That(warnings, Has.Count.EqualTo(1), "once per text and data source, not with Allow, and not refused");
            Assert.That(warnings[0].Message, Does.Contain("last_insert_rowid()").And.Contain("RETURNING"));
        });
    }

    [Test]
    public async Task Columns_named_as_PostgreSQL_s_system_columns_are_a_user_s_own_on_other_databases()
    {
        using var files = Files();
        files.ExecuteOnBoth("CREATE TABLE boxes (id INTEGER PRIMARY KEY, xmin REAL, xmax REAL)");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString("Nondeterministic Writes=Refuse"));
        await using var connection = await OpenAsync(dataSource);
        await ExecuteNonQueryAsync(connection, "INSERT INTO boxes (id, xmin, xmax) VALUES (1, 0.5, 2.5)");
        await ExecuteNonQueryAsync(connection, "UPDATE boxes SET xmax = 3 WHERE xmin = 0.5");
        Assert.That(files.Rows(HelixStrand.Secondary, "SELECT id, xmin, xmax FROM boxes"), Is.EqualTo(new[] { "1|0.5|3" }), "not refused: on SQLite xmin is the table's column");
    }

    [Test]
    public async Task With_Allow_or_on_one_strand_such_a_write_runs_without_a_word()
    {
        using var files = Files();
        using var logs = new CollectingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using (var allowed = new HelixDataSourceBuilder(files.ConnectionString("Nondeterministic Writes=Allow")).UseLoggerFactory(loggers).Build())
        await using (var connection = await OpenAsync(allowed))
        {
            await ExecuteNonQueryAsync(connection, "INSERT INTO t (id, at) VALUES (1, datetime('now'))");
        }

        var single = $"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{files.Inner(HelixStrand.Primary)}\";Nondeterministic Writes=Refuse";
        await using (var oneStrand = new HelixDataSourceBuilder(single).UseLoggerFactory(loggers).Build())
        await using (var connection = await OpenAsync(oneStrand))
        {
            await ExecuteNonQueryAsync(connection, "INSERT INTO t (id, at) VALUES (2, datetime('now'))");
        }

        Assert.Multiple(() =>
        {
            Assert.That(logs.Entries.Where(e => e.Id.Id == EventId), Is.Empty);
            Assert.That(files.Scalar(HelixStrand.Primary, Count), Is.EqualTo(2L), "both ran on the primary: single-strand mode passes everything through");
            Assert.That(files.Scalar(HelixStrand.Secondary, Count), Is.EqualTo(1L));
        });
    }

    [Test]
    public async Task An_EF_Core_context_s_raw_SQL_is_checked_as_any_command()
    {
        using var files = new SqliteStrands("nondeterministic-ef");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString("Nondeterministic Writes=Refuse"));
        var options = new DbContextOptionsBuilder<ShopContext>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).Options;
        await using var context = new ShopContext(options);
        await context.Database.EnsureCreatedAsync();
        context.Customers.Add(new Customer { Name = "kept" });
        await context.SaveChangesAsync();

        var refused = Assert.ThrowsAsync<NotSupportedException>(() => IsAsync
            ? context.Database.ExecuteSqlRawAsync("UPDATE Customers SET Name = Name || random()")
            : Task.FromResult(context.Database.ExecuteSqlRaw("UPDATE Customers SET Name = Name || random()")));
        Assert.Multiple(() =>
        {
            Assert.That(refused!.Message, Does.Contain("random()"));
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT Name FROM Customers"), Is.EqualTo(new[] { "kept" }));
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT Name FROM Customers"), Is.EqualTo(new[] { "kept" }));
        });
    }

    [Test]
    public async Task EF_Core_s_DateTime_UtcNow_in_a_bulk_delete_is_the_database_s_clock_and_a_captured_time_is_a_parameter()
    {
        using var files = new SqliteStrands("nondeterministic-ef-clock");
        using var logs = new CollectingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var dataSource = new HelixDataSourceBuilder(files.ConnectionString()).UseLoggerFactory(loggers).Build();
        var options = new DbContextOptionsBuilder<SessionContext>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).Options;
        await using var context = new SessionContext(options);
        await context.Database.EnsureCreatedAsync();
        context.Sessions.AddRange(new UserSession { Expires = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc) }, new UserSession { Expires = new DateTime(2099, 1, 1, 0, 0, 0, DateTimeKind.Utc) });
        await context.SaveChangesAsync();

        // Translated to SQLite's strftime(..., 'now'): evaluated by each database, and again at replay.
        var expired = context.Sessions.Where(s => s.Expires < DateTime.UtcNow);
        var deleted = IsAsync ? await expired.ExecuteDeleteAsync() : expired.ExecuteDelete();
        Assert.That(logs.Entries.Where(e => e.Id.Id == EventId).Select(e => e.Message), Has.One.Contains("strftime('now')"), "EF's DateTime.UtcNow is the database's clock");

        var now = DateTime.UtcNow; // captured: a parameter, the same on both strands
        var later = context.Sessions.Where(s => s.Expires < now);
        _ = IsAsync ? await later.ExecuteDeleteAsync() : later.ExecuteDelete();
        Assert.Multiple(() =>
        {
            Assert.That(deleted, Is.EqualTo(1));
            Assert.That(logs.Entries.Count(e => e.Id.Id == EventId), Is.EqualTo(1), "no warning for the captured time");
            Assert.That(files.Scalar(HelixStrand.Secondary, "SELECT count(*) FROM Sessions"), Is.EqualTo(1L));
        });
    }

    private static SqliteStrands Files()
    {
        var files = new SqliteStrands("nondeterministic");
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT, n INTEGER)");
        return files;
    }
}

/// <summary>A login session that expires: the shape of a bulk delete by time.</summary>
public sealed class UserSession
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public DateTime Expires { get; set; }
}

/// <summary>A context of <see cref="UserSession"/> rows.</summary>
public sealed class SessionContext(DbContextOptions<SessionContext> options) : DbContext(options)
{
    public DbSet<UserSession> Sessions => Set<UserSession>();
}
