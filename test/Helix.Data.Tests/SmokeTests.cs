using Dapper;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

public class SmokeTests
{
    [Test]
    public async Task Dapper_writes_reach_both_strands_and_reads_come_from_one()
    {
        using var files = new SqliteStrands("smoke");
        files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT NOT NULL)");
        await using var connection = new HelixConnection(files.ConnectionString());
        await connection.ExecuteAsync("INSERT INTO t (id, name) VALUES (@id, @name)", new { id = "a", name = "Alice" });
        connection.Execute("INSERT INTO t (id, name) VALUES (@id, @name)", new { id = "b", name = "Bob" });
        var names = (await connection.QueryAsync<string>("SELECT name FROM t ORDER BY id")).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(names, Is.EqualTo(new[] { "Alice", "Bob" }));
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT * FROM t ORDER BY id"), Is.EqualTo(new[] { "a|Alice", "b|Bob" }));
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT * FROM t ORDER BY id"), Is.EqualTo(new[] { "a|Alice", "b|Bob" }));
        });
    }
}
