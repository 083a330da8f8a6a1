using System.Data.Common;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>
/// <see cref="DbDataSource.CreateCommand"/> on a Helix data source (commands without a connection of the application's,
/// as Npgsql's data source offers them): written to both strands, read from one, each on a connection of its own that is
/// returned when the command (or its reader) is done.
/// </summary>
public class DataSourceCommandTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    [Test]
    public async Task A_data_source_command_writes_to_both_strands_and_reads_from_one()
    {
        using var files = new SqliteStrands("data-source-command");
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());

        for (var id = 1; id <= 3; id++)
        {
            await using var insert = dataSource.CreateCommand("INSERT INTO t VALUES (@id, @name)");
            insert.Parameters.Add(Parameter(insert, "id", id));
            insert.Parameters.Add(Parameter(insert, "name", $"row {id}"));
            Assert.That(IsAsync ? await insert.ExecuteNonQueryAsync() : insert.ExecuteNonQuery(), Is.EqualTo(1));
        }

        await using var count = dataSource.CreateCommand("SELECT count(*) FROM t");
        var counted = IsAsync ? await count.ExecuteScalarAsync() : count.ExecuteScalar();

        var names = new List<string>();
        await using (var query = dataSource.CreateCommand("SELECT name FROM t ORDER BY id"))
        await using (var reader = IsAsync ? await query.ExecuteReaderAsync() : query.ExecuteReader())
        {
            while (IsAsync ? await reader.ReadAsync() : reader.Read())
            {
                names.Add(reader.GetString(0));
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(counted, Is.EqualTo(3L));
            Assert.That(names, Is.EqualTo(new[] { "row 1", "row 2", "row 3" }));
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT name FROM t ORDER BY id"), Is.EqualTo(names));
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT name FROM t ORDER BY id"), Is.EqualTo(names));
        });
    }

    private static DbParameter Parameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        return parameter;
    }
}
