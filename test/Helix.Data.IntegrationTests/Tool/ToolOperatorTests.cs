using System.Text.Json;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Tests.Support;
using Helix.Data.Tool;

namespace Helix.Data.IntegrationTests.Tool;

/// <summary>The <c>helix</c> tool's <c>status</c>, <c>dead-letters</c> and <c>resync</c> commands beside a running application (SQLite strands, file queue).</summary>
public class ToolOperatorTests
{
    [Test]
    public async Task Dead_letters_are_listed_shown_retried_after_the_fix_and_discarded_with_an_audit_record()
    {
        using var files = new SqliteStrands("tool-dead");
        files.Execute(HelixStrand.Primary, "CREATE TABLE t (id INTEGER PRIMARY KEY, extra TEXT)");
        files.Execute(HelixStrand.Secondary, "CREATE TABLE t (id INTEGER PRIMARY KEY)"); // a migration not run there
        var connection = files.ConnectionString($"Replay=file:{Path.Combine(files.Folder, "replay.db")};Replay Max Attempts=1");
        await using var application = new HelixDataSourceBuilder(connection).ConfigureReplay(o => o.PollInterval = TimeSpan.FromMilliseconds(20)).Build();
        await using (var writer = await application.OpenConnectionAsync())
        {
            await writer.ExecuteAsync("INSERT INTO t (id, extra) VALUES (1, 'kept')");
            await writer.ExecuteAsync("INSERT INTO t (id, extra) VALUES (2, 'given up')");
        }

        await Eventually.ThatAsync(async () => (await application.ReplayQueue!.GetDeadLettersAsync()).Count == 2, "both entries are dead-lettered");

        var (code, output, _) = await RunAsync("dead-letters", "list", "--connection", connection, "--json");
        Assert.That(code, Is.EqualTo(1), "dead letters wait for an operator");
        var letters = JsonDocument.Parse(output).RootElement.EnumerateArray().ToList();
        Assert.That(letters, Has.Count.EqualTo(2));
        var (first, second) = (letters[0].GetProperty("id").GetString()!, letters[1].GetProperty("id").GetString()!);

        (code, output, _) = await RunAsync("dead-letters", "show", first, "--connection", connection);
        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain("INSERT INTO t (id, extra) VALUES (1, 'kept')").And.Contain("extra"), "the statement and the strand's error");

        files.Execute(HelixStrand.Secondary, "ALTER TABLE t ADD COLUMN extra TEXT");
        (code, output, _) = await RunAsync("dead-letters", "retry", first, "--connection", connection);
        Assert.That((code, output), Is.EqualTo((0, "1 dead letters retried.\n")).Using<(int, string)>((x, y) => x.Item1 == y.Item1 && x.Item2.ReplaceLineEndings("\n") == y.Item2));
        await Eventually.UntilAsync(() => files.Rows(HelixStrand.Secondary, "SELECT extra FROM t WHERE id = 1").Count == 1, () => "the application's worker applies the retried entry");

        (code, _, _) = await RunAsync("dead-letters", "discard", "--all", "--reason", "row 2 was a test", "--by", "ops@example", "--connection", connection);
        Assert.That(code, Is.Zero);
        (code, output, _) = await RunAsync("dead-letters", "list", "--discarded", "--connection", connection, "--json");
        var audit = JsonDocument.Parse(output).RootElement.EnumerateArray().Single();
        Assert.Multiple(async () =>
        {
            Assert.That(audit.GetProperty("letter").GetProperty("id").GetString(), Is.EqualTo(second));
            Assert.That(audit.GetProperty("reason").GetString(), Is.EqualTo("row 2 was a test"));
            Assert.That(audit.GetProperty("by").GetString(), Is.EqualTo("ops@example"));
            Assert.That((await RunAsync("dead-letters", "list", "--connection", connection)).Code, Is.Zero, "none left");
            Assert.That((await RunAsync("dead-letters", "retry", first, "--connection", connection)).Code, Is.EqualTo(1), "not a dead letter any more");
        });
    }

    [Test]
    public async Task Status_probes_each_strand_and_reads_the_queue()
    {
        using var files = new SqliteStrands("tool-status");
        var healthy = files.ConnectionString($"Replay=file:{Path.Combine(files.Folder, "replay.db")}");
        var (code, output, _) = await RunAsync("status", "--connection", healthy, "--json");
        var document = JsonDocument.Parse(output).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero);
            Assert.That(document.GetProperty("strands").EnumerateArray().Select(s => s.GetProperty("reachable").GetBoolean()), Is.EqualTo(new[] { true, true }));
            Assert.That(document.GetProperty("queue").GetProperty("deadLetters").GetInt32(), Is.Zero);
        });

        var missing = Path.Combine(files.Folder, "no-such-folder", "secondary.db");
        var broken = $"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{files.Inner(HelixStrand.Primary)}\";Secondary=\"Data Source={missing};Mode=ReadWrite\"";
        (code, output, var error) = await RunAsync("status", "--connection", broken);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1), error);
            Assert.That(output, Does.Contain("Secondary does not answer: SQLite Error 14: 'unable to open database file'"));
            Assert.That(output, Does.Contain("in the application's memory"), "the memory queue is not visible from the tool");
        });
    }

    [Test]
    public async Task Resync_copies_every_table_onto_the_strand_and_a_second_run_finds_nothing_to_do()
    {
        using var files = SqliteStrands.WithResyncTables("tool-resync");
        files.Execute(HelixStrand.Secondary, "DELETE FROM a WHERE id > 5");
        files.Execute(HelixStrand.Secondary, "UPDATE b SET name = 'stale'");
        var connection = files.ConnectionString();
        var state = Path.Combine(files.Folder, "state.json");

        var (code, output, error) = await RunAsync("resync", "--strand", "secondary", "--tables", "a,b", "--state", state, "--connection", connection);
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("a: identical (5 rows copied)").And.Contain("b: identical (10 rows copied)"));
        Assert.That(files.Rows(HelixStrand.Secondary, "SELECT * FROM b"), Is.EqualTo(files.Rows(HelixStrand.Primary, "SELECT * FROM b")));

        (code, output, _) = await RunAsync("resync", "--strand", "secondary", "--state", state, "--connection", connection, "--json");
        var tables = JsonDocument.Parse(output).RootElement.GetProperty("tables").EnumerateArray().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1), "the table without a one-column key is left alone and said so");
            Assert.That(tables.Select(t => (t.GetProperty("table").GetString(), t.GetProperty("rowsRepaired").GetInt32())), Is.EqualTo(new[] { ("a", 0), ("b", 0), ("pairs", 0) }));
        });
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Cli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
