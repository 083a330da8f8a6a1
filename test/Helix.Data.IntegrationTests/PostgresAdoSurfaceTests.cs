using System.Data;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Npgsql;
using NpgsqlTypes;

namespace Helix.Data.IntegrationTests;

/// <summary>Stored procedures with output parameters, batches, schema, adapters: the wider ADO.NET surface on PostgreSQL.</summary>
[TestFixture(SyncOrAsync.Sync)]
[TestFixture(SyncOrAsync.Async)]
public class PostgresAdoSurfaceTests(SyncOrAsync mode) : PostgresTestBase
{
    private bool IsAsync => mode == SyncOrAsync.Async;

    private HelixDataSource Build() =>
        new HelixDataSourceBuilder(HelixConnectionString(inner: ";Timeout=2;Command Timeout=2;Cancellation Timeout=500"))
            .ConfigureReplay(o => o.BackoffMax = TimeSpan.FromMilliseconds(300))
            .Build();

    [Test]
    public async Task A_stored_procedure_runs_on_both_strands_its_output_parameters_come_from_the_primary_and_outputs_that_differ_are_reported()
    {
        await ExecuteOnBothAsync("CREATE TABLE log (msg text NOT NULL)");
        await ExecuteAsync(HelixStrand.Primary, "INSERT INTO log VALUES ('primary has one more')");
        await ExecuteOnBothAsync("""
            CREATE PROCEDURE add_log(msg text, INOUT total bigint DEFAULT NULL) LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO log VALUES (msg); SELECT count(*) INTO total FROM log; END $$
            """);
        var divergences = new System.Collections.Concurrent.ConcurrentQueue<HelixDivergence>();
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString()).OnDivergence(divergences.Enqueue).Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        var totals = new List<object?>();
        foreach (var inTransaction in new[] { false, true })
        {
            await using var transaction = inTransaction ? (HelixTransaction)await connection.BeginTransactionAsync() : null;
            await using var command = new HelixCommand("add_log", connection) { CommandType = CommandType.StoredProcedure, Transaction = transaction };
            command.Parameters.Add(new NpgsqlParameter("msg", "hello"));
            var total = new NpgsqlParameter("total", NpgsqlDbType.Bigint) { Direction = ParameterDirection.InputOutput, Value = DBNull.Value };
            command.Parameters.Add(total);
            _ = IsAsync ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();
            totals.Add(total.Value);
            if (transaction is not null)
            {
                await transaction.CommitAsync();
            }
        }

        var reported = divergences.ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(totals, Is.EqualTo(new object[] { 2L, 3L }), "the primary's counts: it had one row more");
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT msg FROM log"), Is.EqualTo(new[] { "hello", "hello" }));
            Assert.That(reported.Select(d => (d.Kind, d.Strand)), Is.EqualTo(Enumerable.Repeat((HelixDivergenceKind.ReturnedValuesDiffer, HelixStrand.Secondary), 2)), "outside and inside the transaction (contract amendment 34)");
            Assert.That(reported.Select(d => d.Message), Is.All.Contain("output parameter 2"));
        });
    }

    [Test]
    public async Task Output_parameters_come_from_the_secondary_when_the_primary_is_down()
    {
        PostgresServers.RequireFaultControl();
        await ExecuteOnBothAsync("CREATE PROCEDURE answer(INOUT v int DEFAULT NULL) LANGUAGE plpgsql AS $$ BEGIN v := 42; END $$");
        await using var dataSource = Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        await PostgresServers.Primary.KillAsync();
        await using var command = new HelixCommand("answer", connection) { CommandType = CommandType.StoredProcedure };
        var v = new NpgsqlParameter("v", NpgsqlDbType.Integer) { Direction = ParameterDirection.InputOutput, Value = DBNull.Value };
        command.Parameters.Add(v);
        _ = IsAsync ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();
        Assert.That(v.Value, Is.EqualTo(42));
    }

    [Test]
    public async Task A_batch_whose_commands_change_different_rows_on_each_strand_is_reported_even_when_the_totals_agree()
    {
        await ExecuteOnBothAsync("CREATE TABLE b (id int PRIMARY KEY, v text)");
        await ExecuteAsync(HelixStrand.Primary, "INSERT INTO b VALUES (1, 'x')");
        await ExecuteAsync(HelixStrand.Secondary, "INSERT INTO b VALUES (2, 'x')");
        var divergences = new System.Collections.Concurrent.ConcurrentQueue<HelixDivergence>();
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString()).OnDivergence(divergences.Enqueue).Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var batch = connection.CreateBatch();
        batch.BatchCommands.Add(new HelixBatchCommand("UPDATE b SET v = 'y' WHERE id = 1"));
        batch.BatchCommands.Add(new HelixBatchCommand("UPDATE b SET v = 'y' WHERE id = 2"));
        var rows = IsAsync ? await batch.ExecuteNonQueryAsync() : batch.ExecuteNonQuery();
        var divergence = divergences.Single();
        Assert.Multiple(() =>
        {
            Assert.That((rows, batch.BatchCommands[0].RecordsAffected, batch.BatchCommands[1].RecordsAffected), Is.EqualTo((1, 1, 0)), "the primary's counts");
            Assert.That((divergence.Kind, divergence.Strand), Is.EqualTo((HelixDivergenceKind.RowsAffectedDiffer, HelixStrand.Secondary)));
            Assert.That(divergence.Message, Does.Contain("command 1 of the batch"));
        });
    }

    [Test]
    public async Task A_batch_writes_both_strands_in_one_round_trip_each_and_reports_rows_per_command()
    {
        await ExecuteOnBothAsync("CREATE TABLE b (id int PRIMARY KEY, v text)");
        await using var dataSource = Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.That(connection.CanCreateBatch, Is.True);
        await using var batch = connection.CreateBatch();
        var insert = new HelixBatchCommand("INSERT INTO b VALUES (@id, @v), (@id + 1, @v)");
        insert.Parameters.Add(new NpgsqlParameter("id", 1));
        insert.Parameters.Add(new NpgsqlParameter("v", "x"));
        batch.BatchCommands.Add(insert);
        batch.BatchCommands.Add(new HelixBatchCommand("UPDATE b SET v = 'y' WHERE id = 2"));
        var rows = IsAsync ? await batch.ExecuteNonQueryAsync() : batch.ExecuteNonQuery();
        Assert.Multiple(async () =>
        {
            Assert.That(rows, Is.EqualTo(3));
            Assert.That(batch.BatchCommands[0].RecordsAffected, Is.EqualTo(2));
            Assert.That(batch.BatchCommands[1].RecordsAffected, Is.EqualTo(1));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT * FROM b ORDER BY id"), Is.EqualTo(new[] { "1|x", "2|y" }));
        });
    }

    [Test]
    public async Task A_read_batch_runs_on_one_strand_and_returns_every_result_set()
    {
        await ExecuteOnBothAsync("CREATE TABLE n (v int); INSERT INTO n VALUES (1), (2)");
        await using var dataSource = Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var batch = connection.CreateBatch();
        batch.BatchCommands.Add(new HelixBatchCommand("SELECT count(*) FROM n"));
        batch.BatchCommands.Add(new HelixBatchCommand("SELECT max(v) FROM n"));
        await using var reader = IsAsync ? (HelixDataReader)await batch.ExecuteReaderAsync() : batch.ExecuteReader();
        Assert.That(reader.Read(), Is.True);
        var count = reader.GetInt64(0);
        Assert.That(reader.NextResult() && reader.Read(), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(count, Is.EqualTo(2));
            Assert.That(reader.GetInt32(0), Is.EqualTo(2));
            Assert.That(connection.GetInnerConnection(HelixStrand.Primary) is null || connection.GetInnerConnection(HelixStrand.Secondary) is null, Is.True, "one strand");
        });
    }

    [Test]
    public async Task A_batch_a_strand_missed_is_replayed_as_one_atomic_entry()
    {
        PostgresServers.RequireFaultControl();
        await ExecuteOnBothAsync("CREATE TABLE b (id int PRIMARY KEY)");
        await using var dataSource = Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        await PostgresServers.Secondary.KillAsync();
        await using (var batch = connection.CreateBatch())
        {
            batch.BatchCommands.Add(new HelixBatchCommand("INSERT INTO b VALUES (1)"));
            batch.BatchCommands.Add(new HelixBatchCommand("INSERT INTO b VALUES (2)"));
            _ = IsAsync ? await batch.ExecuteNonQueryAsync() : batch.ExecuteNonQuery();
        }

        var entry = (await dataSource.ReplayQueue!.ReadAsync(HelixStrand.Secondary, 10)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(entry.IsTransaction, Is.True);
            Assert.That(entry.Statements.Select(s => s.CommandText), Is.EqualTo(new[] { "INSERT INTO b VALUES (1)", "INSERT INTO b VALUES (2)" }));
        });
        await PostgresServers.Secondary.StartAsync();
        using var converged = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await dataSource.WaitForReplayAsync(converged.Token);
        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT id FROM b ORDER BY id"), Is.EqualTo(new[] { "1", "2" }));
    }

    [Test]
    public async Task GetSchema_and_a_DataAdapter_work_over_Npgsql()
    {
        await ExecuteOnBothAsync("CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL); INSERT INTO people VALUES (1, 'Ann')");
        await using var dataSource = Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        var tables = IsAsync ? await connection.GetSchemaAsync("Tables") : connection.GetSchema("Tables");
        using var adapter = new HelixDataAdapter(new HelixCommand("SELECT id, name FROM people", connection));
        using var builder = new HelixCommandBuilder(adapter);
        using var table = new DataTable();
        adapter.Fill(table);
        table.Rows.Add(2, "Bo");
        table.Rows[0]["name"] = "Anna";
        adapter.Update(table);
        Assert.Multiple(async () =>
        {
            Assert.That(tables.Rows.Cast<DataRow>().Select(r => r["table_name"]), Does.Contain("people"));
            Assert.That(builder.QuotePrefix, Is.EqualTo("\""));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT * FROM people ORDER BY id"), Is.EqualTo(new[] { "1|Anna", "2|Bo" }));
        });
    }

    [Test]
    public async Task A_connection_moved_to_another_database_does_not_pass_the_move_on_to_later_connections()
    {
        // Npgsql keeps the database ChangeDatabase chose in the connection object: such an inner connection is disposed
        // when its Helix connection closes, never opened again by the next one.
        await using var dataSource = Build();
        await using (var moved = IsAsync ? await dataSource.OpenConnectionAsync() : dataSource.OpenConnection())
        {
            moved.ChangeDatabase("postgres");
            Assert.That(await CurrentDatabaseAsync(moved), Is.EqualTo("postgres"));
        }

        for (var i = 0; i < 3; i++)
        {
            await using var next = IsAsync ? await dataSource.OpenConnectionAsync() : dataSource.OpenConnection();
            Assert.That(await CurrentDatabaseAsync(next), Is.EqualTo(Database), $"connection {i + 1} after the moved one");
        }
    }

    // Found 2026-12-06 logging a connection's string as applications do: an open HelixConnection returned both strands'
    // passwords, where the NpgsqlConnection beside it returned none once opened.
    [Test]
    public async Task An_opened_connection_returns_its_string_without_the_passwords_as_Npgsql_does_unless_Persist_Security_Info_is_set()
    {
        var withPassword = HelixConnectionString(inner: ";Password=inner-pass-1") + ";Password=shared-pass-2";
        await using var connection = new HelixConnection(withPassword);
        await using var npgsql = new NpgsqlConnection(PostgresServers.Primary.ConnectionString(Database) + ";Password=inner-pass-1");
        Assert.That(connection.ConnectionString, Is.EqualTo(withPassword), "before it is opened, the string as set");

        await OpenAsync(connection);
        await OpenAsync(npgsql);
        Assert.That(npgsql.ConnectionString, Does.Not.Contain("inner-pass-1"), "what Npgsql does");
        var opened = connection.ConnectionString;
        Assert.Multiple(() =>
        {
            Assert.That(opened, Does.Not.Contain("pass-1").And.Not.Contain("pass-2"));
            Assert.That(opened, Does.Contain("***").And.Contain(Database), "the rest is still there to read");
        });
        Assert.That(await CurrentDatabaseAsync(connection), Is.EqualTo(Database), "Dapper's cache keys on the string; it changed");

        await connection.CloseAsync();
        Assert.That(connection.ConnectionString, Is.EqualTo(opened), "after closing too, as Npgsql");
        await OpenAsync(connection);
        Assert.That(await CurrentDatabaseAsync(connection), Is.EqualTo(Database), "opened again: the data source kept its passwords");
        await connection.CloseAsync();

        connection.ConnectionString = withPassword + ";Persist Security Info=true";
        await OpenAsync(connection);
        Assert.That(connection.ConnectionString, Does.Contain("inner-pass-1").And.Contain("shared-pass-2"), "kept when the application asks");
        Assert.That(await CurrentDatabaseAsync(connection), Is.EqualTo(Database), "Helix's own key, not passed to Npgsql");

        await using var plain = new HelixConnection(HelixConnectionString());
        await OpenAsync(plain);
        Assert.That(plain.ConnectionString, Is.EqualTo(HelixConnectionString()), "a string without secrets is returned as set");
    }

    private Task OpenAsync(System.Data.Common.DbConnection connection)
    {
        if (IsAsync)
        {
            return connection.OpenAsync();
        }

        connection.Open();
        return Task.CompletedTask;
    }

    private async Task<string> CurrentDatabaseAsync(HelixConnection connection) =>
        IsAsync ? await connection.QuerySingleAsync<string>("SELECT current_database()") : connection.QuerySingle<string>("SELECT current_database()");
}
