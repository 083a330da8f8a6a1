using System.Text.Json;
using Helix.Data.IntegrationTests.Support;
using Helix.Data.Tests.Support;
using Helix.Data.Tool;

namespace Helix.Data.IntegrationTests.Tool;

/// <summary>The <c>helix</c> tool's <c>verify</c> and <c>repair</c> commands on SQLite strands.</summary>
public class ToolTests
{
    [Test]
    public async Task Verify_lists_the_differences_and_exits_with_1_then_repair_fixes_them_and_verify_exits_with_0()
    {
        using var files = Strands("tool-verify");
        files.Execute(HelixStrand.Secondary, "DELETE FROM t WHERE id = 3");
        files.Execute(HelixStrand.Primary, "UPDATE t SET name = 'changed' WHERE id = 4");
        var connection = files.ConnectionString();

        var (code, output, _) = await RunAsync("verify", "--connection", connection, "--table", "t");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(output, Does.Contain("10 rows on the primary, 2 differ").And.Contain("MissingOnSecondary").And.Contain("Differs"));

        (code, output, _) = await RunAsync("repair", "--connection", connection, "--table", "t", "--from", "Primary", "--dry-run");
        Assert.That(code, Is.EqualTo(1), "a dry run leaves the difference");
        Assert.That(output, Does.Contain("would do").And.Contain("Copy from Primary"));

        (code, output, _) = await RunAsync("repair", "--connection", connection, "--table", "t", "--from", "Primary");
        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain("identical"));

        (code, output, _) = await RunAsync("verify", "--connection", connection, "--table", "t", "--json");
        Assert.That(code, Is.Zero);
        using var document = JsonDocument.Parse(output);
        Assert.That(document.RootElement.GetProperty("identical").GetBoolean(), Is.True);
        Assert.That(document.RootElement.GetProperty("rows").GetInt64(), Is.EqualTo(10));
    }

    [Test]
    public async Task A_bad_command_line_or_table_exits_with_2_without_printing_the_connection_string()
    {
        using var files = Strands("tool-bad");
        var connection = files.ConnectionString();

        var (missing, _, missingError) = await RunAsync("verify", "--connection", connection);
        var (badTable, _, badTableError) = await RunAsync("verify", "--connection", connection, "--table", "nope");

        Assert.Multiple(() =>
        {
            Assert.That(missing, Is.EqualTo(2));
            Assert.That(missingError, Does.Contain("--table"));
            Assert.That(badTable, Is.EqualTo(2));
            Assert.That(badTableError, Does.Contain("nope").And.Not.Contain("Data Source"), "the message, not the connection string");
        });
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Cli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static SqliteStrands Strands(string name)
    {
        var files = new SqliteStrands(name);
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
        files.ExecuteOnBoth("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) INSERT INTO t SELECT i, 'row ' || i FROM n");
        return files;
    }
}
