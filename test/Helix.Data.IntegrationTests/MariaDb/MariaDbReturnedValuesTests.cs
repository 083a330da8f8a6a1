using System.Collections.Concurrent;
using System.Data;
using Helix.Data.Tests.Support;
using Microsoft.Extensions.Logging;
using MySqlConnector;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>
/// Contract amendment 34 on MariaDB: a procedure that hands back the key the server generated through an <c>OUT</c>
/// parameter (<c>LAST_INSERT_ID()</c>, the usual MySQL way) gives each server's own key; the caller gets the primary's,
/// and the difference is reported. Amendment 36: <c>SELECT LAST_INSERT_ID()</c> after an insert answers with the key of the
/// strand reads go to, and is logged once.
/// </summary>
public class MariaDbReturnedValuesTests : MariaDbTestBase
{
    [Test]
    public async Task An_OUT_parameter_holding_each_server_s_AUTO_INCREMENT_key_is_reported_when_the_keys_differ()
    {
        await ExecuteOnBothAsync("CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL)");
        await ExecuteAsync(HelixStrand.Secondary, "INSERT INTO orders (name) VALUES ('only on the secondary')");
        await ExecuteOnBothAsync("CREATE PROCEDURE add_order(IN order_name VARCHAR(40), OUT order_id INT) BEGIN INSERT INTO orders (name) VALUES (order_name); SET order_id = LAST_INSERT_ID(); END");
        var divergences = new ConcurrentQueue<HelixDivergence>();
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString()).OnDivergence(divergences.Enqueue).Build();
        await using var connection = await dataSource.OpenConnectionAsync();

        var ids = new List<object?>();
        foreach (var name in new[] { "first", "second" })
        {
            await using var command = new HelixCommand("add_order", connection) { CommandType = CommandType.StoredProcedure };
            command.Parameters.Add(new MySqlParameter("order_name", name));
            var id = new MySqlParameter("order_id", MySqlDbType.Int32) { Direction = ParameterDirection.Output };
            command.Parameters.Add(id);
            await command.ExecuteNonQueryAsync();
            ids.Add(id.Value);
        }

        await ExecuteOnBothAsync("CREATE PROCEDURE name_length(IN order_name VARCHAR(40), OUT n INT) BEGIN INSERT INTO orders (id, name) VALUES (100, order_name); SET n = CHAR_LENGTH(order_name); END");
        await using (var same = new HelixCommand("name_length", connection) { CommandType = CommandType.StoredProcedure })
        {
            same.Parameters.Add(new MySqlParameter("order_name", "given key"));
            var n = new MySqlParameter("n", MySqlDbType.Int32) { Direction = ParameterDirection.Output };
            same.Parameters.Add(n);
            await same.ExecuteNonQueryAsync();
            ids.Add(n.Value);
        }

        Assert.Multiple(async () =>
        {
            Assert.That(ids, Is.EqualTo(new object[] { 1, 2, 9 }), "the caller gets the primary's keys");
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT CONCAT(id, ':', name) FROM orders ORDER BY id"), Is.EqualTo(new[] { "1:only on the secondary", "2:first", "3:second", "100:given key" }));
            Assert.That(divergences.Select(d => (d.Kind, d.Strand)), Is.EqualTo(Enumerable.Repeat((HelixDivergenceKind.ReturnedValuesDiffer, HelixStrand.Secondary), 2)), "outputs the servers agree on are not reported");
            Assert.That(divergences.Select(d => d.Message), Is.All.Contain("output parameter 2"));
        });
    }

    [Test]
    public async Task SELECT_LAST_INSERT_ID_after_an_insert_gives_the_key_of_the_strand_reads_go_to_and_is_logged_once()
    {
        await ExecuteOnBothAsync("CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL)");
        await ExecuteAsync(HelixStrand.Secondary, "INSERT INTO orders (name) VALUES ('only on the secondary')");
        var logs = new CollectingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString("Preferred Strand=Secondary")).UseLoggerFactory(loggers).Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        var keys = new List<ulong>();
        foreach (var name in new[] { "first", "second" })
        {
            await using (var insert = new HelixCommand("INSERT INTO orders (name) VALUES (@name)", connection))
            {
                insert.Parameters.Add(new MySqlParameter("name", name));
                await insert.ExecuteNonQueryAsync();
            }

            await using var read = new HelixCommand("SELECT LAST_INSERT_ID()", connection);
            keys.Add(Convert.ToUInt64(await read.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Multiple(async () =>
        {
            Assert.That(keys, Is.EqualTo(new ulong[] { 2, 3 }), "the secondary's keys: reads go there");
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT CONCAT(id, ':', name) FROM orders ORDER BY id"), Is.EqualTo(new[] { "1:first", "2:second" }));
            Assert.That(logs.Entries.Where(e => e.Id.Id == 3010).Select(e => e.Message).Single(), Does.Contain("LAST_INSERT_ID()").And.Contain("RETURNING"));
        });
    }
}
