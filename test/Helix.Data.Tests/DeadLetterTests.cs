using Dapper;
using Helix.Data.Replay;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>Managing dead letters: list them, retry one after its cause is fixed, discard one with an audit record.</summary>
[TestFixture("Memory")]
[TestFixture("File")]
public class DeadLetterTests(string queue)
{
    [Test]
    public async Task A_dead_letter_retried_after_the_schema_is_fixed_is_applied_and_the_strands_converge()
    {
        using var files = new SqliteStrands("dead-retry-" + queue);
        files.Execute(HelixStrand.Primary, "CREATE TABLE t (id INTEGER PRIMARY KEY, extra TEXT)");
        files.Execute(HelixStrand.Secondary, "CREATE TABLE t (id INTEGER PRIMARY KEY)"); // a migration not run there
        await using var dataSource = Create(files);
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("INSERT INTO t (id, extra) VALUES (1, 'x')");
        }

        var replay = dataSource.ReplayQueue!;
        Assert.That(replay.ManagesDeadLetters, Is.True);
        var letters = await replay.GetDeadLettersAsync();
        Assert.That(letters, Has.Count.EqualTo(1));
        Assert.That(letters[0].Entry.Strand, Is.EqualTo(HelixStrand.Secondary));
        Assert.That(letters[0].Reason, Does.Contain("statement error"));
        Assert.That(letters[0].Entry.Error, Does.Contain("extra"), "what the strand said");

        files.Execute(HelixStrand.Secondary, "ALTER TABLE t ADD COLUMN extra TEXT");
        Assert.That(await dataSource.RetryDeadLetterAsync(letters[0].Entry.Id), Is.True);
        Assert.That(await dataSource.RetryDeadLetterAsync(letters[0].Entry.Id), Is.False, "no longer a dead letter");

        await Wait.UntilAsync(() => files.Rows(HelixStrand.Secondary, "SELECT extra FROM t WHERE id = 1").Count == 1, "the worker applies the retried entry");
        Assert.That(await replay.GetDeadLettersAsync(), Is.Empty);
        Assert.That(files.Rows(HelixStrand.Secondary, "SELECT id, extra FROM t"), Is.EqualTo(files.Rows(HelixStrand.Primary, "SELECT id, extra FROM t")));
    }

    [Test]
    public async Task A_discarded_dead_letter_leaves_an_audit_record_of_who_when_and_why()
    {
        using var files = new SqliteStrands("dead-discard-" + queue);
        files.Execute(HelixStrand.Primary, "CREATE TABLE t (id INTEGER PRIMARY KEY, extra TEXT)");
        files.Execute(HelixStrand.Secondary, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
        await using var dataSource = Create(files);
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("INSERT INTO t (id, extra) VALUES (2, 'y')");
        }

        var replay = dataSource.ReplayQueue!;
        var letter = (await replay.GetDeadLettersAsync()).Single();
        Assert.That(await replay.DiscardDeadLetterAsync(letter.Entry.Id, "the column was dropped on purpose", "ops@example"), Is.True);

        var audit = (await replay.GetDiscardedAsync()).Single();
        Assert.Multiple(async () =>
        {
            Assert.That(await replay.GetDeadLettersAsync(), Is.Empty);
            Assert.That(audit.Letter.Entry.Id, Is.EqualTo(letter.Entry.Id));
            Assert.That(audit.Letter.Reason, Is.EqualTo(letter.Reason));
            Assert.That(audit.Reason, Is.EqualTo("the column was dropped on purpose"));
            Assert.That(audit.By, Is.EqualTo("ops@example"));
            Assert.That(audit.At, Is.GreaterThanOrEqualTo(letter.At));
            Assert.That(await replay.DiscardDeadLetterAsync(letter.Entry.Id, "again", "ops@example"), Is.False);
        });
    }

    private HelixDataSource Create(SqliteStrands files)
    {
        var target = queue == "File" ? "file:" + Path.Combine(Path.GetTempPath(), "helix-tests", Guid.NewGuid().ToString("N"), "replay.db") : "Memory";
        return new HelixDataSourceBuilder(files.ConnectionString($"Replay={target};Replay Max Attempts=1"))
            .ConfigureReplay(o => o.PollInterval = TimeSpan.FromMilliseconds(20))
            .Build();
    }
}
