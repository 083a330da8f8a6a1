using System.Data;
using System.Data.Common;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>The rest of the ADO.NET surface that call sites use: adapters, command builders, events, behaviours.</summary>
public class AdoSurfaceTests
{
    [Test]
    public void A_DataAdapter_fills_a_table_and_a_CommandBuilder_writes_changes_to_both_strands()
    {
        using var files = new SqliteStrands("adapter");
        files.ExecuteOnBoth("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL); INSERT INTO people VALUES (1, 'Ann'), (2, 'Ben')");
        using var dataSource = HelixDataSource.Create(files.ConnectionString());
        using var connection = dataSource.OpenConnection();
        var factory = DbProviderFactories.GetFactory(connection)!;
        using var adapter = (HelixDataAdapter)factory.CreateDataAdapter()!;
        adapter.SelectCommand = new HelixCommand("SELECT id, name FROM people", connection);
        using var builder = (HelixCommandBuilder)factory.CreateCommandBuilder()!;
        builder.DataAdapter = adapter;

        using var table = new DataTable();
        Assert.That(adapter.Fill(table), Is.EqualTo(2));
        table.Rows[0]["name"] = "Anna";
        table.Rows[1].Delete();
        table.Rows.Add(3, "Cy");
        var changed = adapter.Update(table);

        Assert.Multiple(() =>
        {
            Assert.That(changed, Is.EqualTo(3));
            Assert.That(builder.QuotePrefix, Is.EqualTo("\""), "the primary provider's quoting");
            Assert.That(builder.GetUpdateCommand().CommandText, Does.Contain("@p"));
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT * FROM people ORDER BY id"), Is.EqualTo(new[] { "1|Anna", "3|Cy" }));
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT * FROM people ORDER BY id"), Is.EqualTo(new[] { "1|Anna", "3|Cy" }));
        });
    }

    [Test]
    public void A_command_made_with_its_text_connection_and_transaction_runs_in_that_transaction_on_both_strands()
    {
        using var files = new SqliteStrands("command-ctor");
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        using var dataSource = HelixDataSource.Create(files.ConnectionString());
        using var connection = dataSource.OpenConnection();
        using (var transaction = connection.BeginTransaction())
        {
            using var command = new HelixCommand("INSERT INTO t VALUES (1)", connection, transaction);
            Assert.That(command.Transaction, Is.SameAs(transaction));
            Assert.That(command.ExecuteNonQuery(), Is.EqualTo(1));
            transaction.Rollback();
        }

        using (var transaction = connection.BeginTransaction())
        {
            new HelixCommand("INSERT INTO t VALUES (2)", connection, transaction).ExecuteNonQuery();
            transaction.Commit();
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT id FROM t"), Is.EqualTo(new[] { "2" }), "the first insert was rolled back with its transaction");
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT id FROM t"), Is.EqualTo(new[] { "2" }));
        });
    }

    [Test]
    public void StateChange_events_follow_open_and_close()
    {
        using var files = new SqliteStrands("events");
        using var connection = new HelixConnection(files.ConnectionString());
        var changes = new List<string>();
        connection.StateChange += (_, e) => changes.Add($"{e.OriginalState}->{e.CurrentState}");
        connection.Open();
        connection.Close();
        connection.Close();
        Assert.That(changes, Is.EqualTo(new[] { "Closed->Open", "Open->Closed" }));
        connection.HelixDataSource!.Dispose();
    }

    [Test]
    public void CloseConnection_behaviour_closes_the_Helix_connection_with_the_reader()
    {
        using var files = new SqliteStrands("close-connection");
        using var dataSource = HelixDataSource.Create(files.ConnectionString());
        using var connection = dataSource.OpenConnection();
        using (var command = new HelixCommand("SELECT 1", connection))
        using (var reader = command.ExecuteReader(CommandBehavior.CloseConnection))
        {
            Assert.That(reader.Read(), Is.True);
        }

        Assert.That(connection.State, Is.EqualTo(ConnectionState.Closed));
    }

    [Test]
    public void Database_DataSource_and_ServerVersion_come_from_the_strands()
    {
        using var files = new SqliteStrands("metadata");
        using var dataSource = HelixDataSource.Create(files.ConnectionString("Preferred Strand=Primary"));
        using var connection = dataSource.CreateConnection();
        Assert.That(connection.DataSource, Does.EndWith("primary.db"), "from the primary's settings before opening");
        connection.Open();
        Assert.Multiple(() =>
        {
            Assert.That(connection.ServerVersion, Does.StartWith("3."));
            Assert.That(connection.Database, Is.EqualTo("main"));
            Assert.That(connection.DataSource, Does.EndWith("primary.db"));
        });
    }

    [Test]
    public void A_batch_is_refused_with_a_clear_message_when_a_provider_cannot_batch()
    {
        using var files = new SqliteStrands("no-batch");
        using var dataSource = HelixDataSource.Create(files.ConnectionString());
        using var connection = dataSource.OpenConnection();
        Assert.Multiple(() =>
        {
            Assert.That(connection.CanCreateBatch, Is.False, "Microsoft.Data.Sqlite does not batch");
            Assert.That(() => connection.CreateBatch(), Throws.InstanceOf<NotSupportedException>().With.Message.Contains("Microsoft.Data.Sqlite"));
        });
    }

    [Test]
    public void Cancel_on_an_idle_command_does_nothing()
    {
        using var command = new HelixCommand("SELECT 1");
        Assert.That(() => command.Cancel(), Throws.Nothing);
    }
}
