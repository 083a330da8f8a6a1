using System.Data;
using Helix.Data.IntegrationTests.Support;
using Npgsql;
using NpgsqlTypes;

namespace Helix.Data.IntegrationTests;

/// <summary>Raw ADO.NET through Helix.Data on two real PostgreSQL servers.</summary>
[TestFixture(SyncOrAsync.Sync)]
[TestFixture(SyncOrAsync.Async)]
public class PostgresAdoNetTests(SyncOrAsync mode) : PostgresTestBase
{
    private bool IsAsync => mode == SyncOrAsync.Async;

    private async Task<HelixConnection> OpenAsync(string extra = "")
    {
        var connection = new HelixConnection(HelixConnectionString(extra));
        if (IsAsync)
        {
            await connection.OpenAsync();
        }
        else
        {
            connection.Open();
        }

        return connection;
    }

    private async Task<int> NonQueryAsync(HelixCommand command) => IsAsync ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();

    private async Task<HelixDataReader> ReaderAsync(HelixCommand command) =>
        IsAsync ? await command.ExecuteReaderAsync(CommandBehavior.Default) : command.ExecuteReader();

    private async Task<bool> ReadAsync(HelixDataReader reader) => IsAsync ? await reader.ReadAsync() : reader.Read();

    [Test]
    public async Task Create_read_update_delete()
    {
        await ExecuteOnBothAsync("CREATE TABLE items (id uuid PRIMARY KEY, name text NOT NULL, qty int NOT NULL)");
        await using var connection = await OpenAsync();
        var id = Guid.CreateVersion7();
        await using (var insert = new HelixCommand("INSERT INTO items VALUES (@id, @name, @qty)", connection))
        {
            insert.Parameters.Add(new NpgsqlParameter("id", id));
            insert.Parameters.Add(new NpgsqlParameter("name", "bolt"));
            insert.Parameters.Add(new NpgsqlParameter("qty", 10));
            Assert.That(await NonQueryAsync(insert), Is.EqualTo(1));
        }

        await using (var update = new HelixCommand("UPDATE items SET qty = qty - 3 WHERE id = @id", connection))
        {
            update.Parameters.Add(new NpgsqlParameter("id", id));
            Assert.That(await NonQueryAsync(update), Is.EqualTo(1));
        }

        await using (var select = new HelixCommand("SELECT name, qty FROM items WHERE id = @id", connection))
        {
            select.Parameters.Add(new NpgsqlParameter("id", id));
            await using var reader = await ReaderAsync(select);
            Assert.That(await ReadAsync(reader), Is.True);
            Assert.Multiple(() =>
            {
                Assert.That(reader.GetString(0), Is.EqualTo("bolt"));
                Assert.That(reader.GetInt32(1), Is.EqualTo(7));
            });
        }

        var both = await RowsAsync(HelixStrand.Primary, "SELECT * FROM items");
        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT * FROM items"), Is.EqualTo(both).And.Count.EqualTo(1));

        await using (var delete = new HelixCommand("DELETE FROM items WHERE id = @id", connection))
        {
            delete.Parameters.Add(new NpgsqlParameter("id", id));
            Assert.That(await NonQueryAsync(delete), Is.EqualTo(1));
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT * FROM items"), Is.Empty);
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT * FROM items"), Is.Empty);
        });
    }

    [Test]
    public async Task Returning_gives_the_primary_rows_and_writes_both()
    {
        await ExecuteOnBothAsync("CREATE TABLE items (id uuid PRIMARY KEY, name text NOT NULL)");
        await using var connection = await OpenAsync();
        await using var command = new HelixCommand("INSERT INTO items VALUES (@a, 'a'), (@b, 'b') RETURNING id, name", connection);
        var (a, b) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        command.Parameters.Add(new NpgsqlParameter("a", a));
        command.Parameters.Add(new NpgsqlParameter("b", b));
        var returned = new List<(Guid, string)>();
        await using (var reader = await ReaderAsync(command))
        {
            while (await ReadAsync(reader))
            {
                returned.Add((reader.GetGuid(0), reader.GetString(1)));
            }

            Assert.That(reader.Strand, Is.EqualTo(HelixStrand.Primary));
        }

        Assert.Multiple(async () =>
        {
            Assert.That(returned, Is.EqualTo(new[] { (a, "a"), (b, "b") }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT name FROM items ORDER BY name"), Is.EqualTo(new[] { "a", "b" }));
            Assert.That(connection.HelixDataSource!.GetStatus().Divergences, Is.Zero);
        });
    }

    [Test]
    public async Task Multiple_result_sets()
    {
        await ExecuteOnBothAsync("CREATE TABLE n (v int); INSERT INTO n SELECT generate_series(1, 5)");
        await using var connection = await OpenAsync();
        await using var command = new HelixCommand("SELECT count(*) FROM n; SELECT v FROM n WHERE v > 3 ORDER BY v", connection);
        await using var reader = await ReaderAsync(command);
        Assert.That(await ReadAsync(reader), Is.True);
        var count = reader.GetInt64(0);
        Assert.That(IsAsync ? await reader.NextResultAsync() : reader.NextResult(), Is.True);
        var values = new List<int>();
        while (await ReadAsync(reader))
        {
            values.Add(reader.GetInt32(0));
        }

        Assert.Multiple(() =>
        {
            Assert.That(count, Is.EqualTo(5));
            Assert.That(values, Is.EqualTo(new[] { 4, 5 }));
        });
    }

    [Test]
    public async Task Parameters_typed_with_NpgsqlDbType_reach_both_strands_identically()
    {
        await ExecuteOnBothAsync("""
            CREATE TABLE typed (
                id uuid PRIMARY KEY, doc jsonb, tags text[], scores int[], at timestamptz, amount numeric(12, 4), blob bytea)
            """);
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO typed VALUES (@id, @doc, @tags, @scores, @at, @amount, @blob)";

        void Add(string name, NpgsqlDbType type, object value)
        {
            var parameter = (NpgsqlParameter)command.CreateParameter();
            parameter.ParameterName = name;
            parameter.NpgsqlDbType = type;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        Add("id", NpgsqlDbType.Uuid, Guid.CreateVersion7());
        Add("doc", NpgsqlDbType.Jsonb, """{"name": "Ada", "langs": ["en", "fr"]}""");
        Add("tags", NpgsqlDbType.Array | NpgsqlDbType.Text, new[] { "a", "b;c", "" });
        Add("scores", NpgsqlDbType.Array | NpgsqlDbType.Integer, new[] { 3, 1, 2 });
        Add("at", NpgsqlDbType.TimestampTz, new DateTime(2026, 11, 26, 8, 30, 0, DateTimeKind.Utc));
        Add("amount", NpgsqlDbType.Numeric, 1234.5678m);
        Add("blob", NpgsqlDbType.Bytea, new byte[] { 0, 1, 254, 255 });
        Assert.That(await NonQueryAsync(command), Is.EqualTo(1));

        const string Everything = "SELECT id, doc::text, tags, scores, at, amount, blob FROM typed";
        var primary = await RowsAsync(HelixStrand.Primary, Everything);
        Assert.Multiple(async () =>
        {
            Assert.That(primary.Single(), Does.Contain("\"langs\": [\"en\", \"fr\"]").And.Contain("{a,b;c,}").And.Contain("1234.5678").And.Contain("0001FEFF"));
            Assert.That(await RowsAsync(HelixStrand.Secondary, Everything), Is.EqualTo(primary));
        });
    }

    [Test]
    public async Task A_prepared_command_runs_prepared_on_each_strand_and_can_be_run_again()
    {
        await ExecuteOnBothAsync("CREATE TABLE p (id int PRIMARY KEY, v text)");
        await using var connection = await OpenAsync("Preferred Strand=Primary");
        await using var command = new HelixCommand("INSERT INTO p VALUES (@id, @v)", connection);
        var id = new NpgsqlParameter("id", NpgsqlDbType.Integer);
        var value = new NpgsqlParameter("v", NpgsqlDbType.Text);
        command.Parameters.Add(id);
        command.Parameters.Add(value);
        if (IsAsync)
        {
            await command.PrepareAsync();
        }
        else
        {
            command.Prepare();
        }

        for (var i = 0; i < 5; i++)
        {
            id.Value = i;
            value.Value = $"v{i}";
            await NonQueryAsync(command);
        }

        await using var check = new HelixCommand("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'INSERT INTO p%'", connection);
        var prepared = IsAsync ? await check.ExecuteScalarAsync() : check.ExecuteScalar();
        Assert.Multiple(async () =>
        {
            Assert.That(prepared, Is.EqualTo(1L), "the primary session holds the prepared statement");
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT count(*) FROM p"), Is.EqualTo(new[] { "5" }));
        });
    }

    [Test]
    public async Task The_write_timestamp_gives_last_write_wins_on_both_strands()
    {
        await ExecuteOnBothAsync("CREATE TABLE lww (id int PRIMARY KEY, v text NOT NULL, version bigint NOT NULL)");
        await using var connection = await OpenAsync();
        const string Upsert = """
            INSERT INTO lww VALUES (@id, @v, @helix_ts)
            ON CONFLICT (id) DO UPDATE SET v = excluded.v, version = excluded.version WHERE lww.version < excluded.version
            """;
        foreach (var v in new[] { "first", "second" })
        {
            await using var command = new HelixCommand(Upsert, connection);
            command.Parameters.Add(new NpgsqlParameter("id", 1));
            command.Parameters.Add(new NpgsqlParameter("v", v));
            await NonQueryAsync(command);
        }

        var primary = await RowsAsync(HelixStrand.Primary, "SELECT * FROM lww");
        Assert.Multiple(async () =>
        {
            Assert.That(primary.Single(), Does.StartWith("1|second|"));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT * FROM lww"), Is.EqualTo(primary), "the same timestamp on both strands");
        });
    }
}
