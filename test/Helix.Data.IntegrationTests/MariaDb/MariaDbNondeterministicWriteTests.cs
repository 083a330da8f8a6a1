using Dapper;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>Contract amendment 33 on MariaDB: <c>UUID()</c> and <c>NOW()</c> give each server its own value; refused with <c>Nondeterministic Writes=Refuse</c>.</summary>
public class MariaDbNondeterministicWriteTests : MariaDbTestBase
{
    [Test]
    public async Task UUID_stores_a_different_value_on_each_server_and_Refuse_refuses_it_before_it_runs()
    {
        await ExecuteOnBothAsync("CREATE TABLE t (id INT PRIMARY KEY, token CHAR(36), at DATETIME(6))");
        await using (var warned = HelixDataSource.Create(HelixConnectionString()))
        await using (var connection = await warned.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("INSERT INTO t (id, token) VALUES (@id, UUID())", new { id = 1 });
        }

        await using (var refusing = HelixDataSource.Create(HelixConnectionString("Nondeterministic Writes=Refuse")))
        await using (var connection = await refusing.OpenConnectionAsync())
        {
            Assert.That(
                async () => await connection.ExecuteAsync("INSERT INTO t (id, token, at) VALUES (@id, @token, NOW(6))", new { id = 2, token = Guid.CreateVersion7().ToString() }),
                Throws.TypeOf<NotSupportedException>().With.Message.Contains("NOW()").And.Message.Contains("Nothing was run"));
            await connection.ExecuteAsync("INSERT INTO t (id, token) VALUES (@id, @token)", new { id = 3, token = "c0ffee00-0000-7000-8000-000000000003" });
        }

        const string Tokens = "SELECT CONCAT(id, ':', token) FROM t ORDER BY id";
        var primary = await RowsAsync(HelixStrand.Primary, Tokens);
        var secondary = await RowsAsync(HelixStrand.Secondary, Tokens);
        Assert.Multiple(() =>
        {
            Assert.That(primary.Select(r => r.Split(':')[0]), Is.EqualTo(new[] { "1", "3" }), "the refused write ran nowhere");
            Assert.That(secondary.Select(r => r.Split(':')[0]), Is.EqualTo(new[] { "1", "3" }));
            Assert.That(primary[0], Is.Not.EqualTo(secondary[0]), "each server generated its own UUID()");
            Assert.That(primary[1], Is.EqualTo(secondary[1]), "a key the application made is the same on both");
        });
    }
}
