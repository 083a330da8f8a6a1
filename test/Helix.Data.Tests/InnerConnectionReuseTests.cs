using System.Data;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>
/// A Helix connection that closes keeps its inner connection objects for the next one to open again (the provider's pool
/// still serves the physical connection), unless somebody else could still reach them.
/// </summary>
public class InnerConnectionReuseTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Read = "SELECT v FROM t";

    private static FaultyStrands Strands()
    {
        var strands = new FaultyStrands("Preferred Strand=Primary");
        strands.Files.Execute(HelixStrand.Primary, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('a'); CREATE TABLE w (v TEXT)");
        strands.Files.Execute(HelixStrand.Secondary, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('a'); CREATE TABLE w (v TEXT)");
        return strands;
    }

    private async Task ReadOnceAsync(HelixDataSource dataSource, bool fromPrimary = true)
    {
        await using var connection = await OpenAsync(dataSource);
        var (values, strand) = await QueryAsync(connection, Read);
        Assert.That(values.Single(), Is.EqualTo("a"));
        if (fromPrimary)
        {
            Assert.That(strand, Is.EqualTo(HelixStrand.Primary));
        }
    }

    private async Task CloseAsync(HelixConnection connection)
    {
        if (IsAsync)
        {
            await connection.CloseAsync();
        }
        else
        {
            connection.Close();
        }
    }

    [Test]
    public async Task Connections_one_after_the_other_open_the_same_inner_connection_again()
    {
        await using var strands = Strands();
        await ReadOnceAsync(strands.DataSource);
        await using (var connection = await OpenAsync(strands.DataSource))
        {
            await ExecuteNonQueryAsync(connection, "INSERT INTO w VALUES ('b')"); // and the strands' first-write probes
        }

        var (made, disposed, secondaryMade) = (strands.Primary.ConnectionsMade, strands.Primary.ConnectionsDisposed, strands.Secondary.ConnectionsMade);
        for (var i = 0; i < 20; i++)
        {
            await ReadOnceAsync(strands.DataSource);
        }

        await using (var connection = await OpenAsync(strands.DataSource))
        {
            Assert.That(await ExecuteNonQueryAsync(connection, "INSERT INTO w VALUES ('c')"), Is.EqualTo(1));
        }

        await using (var connection = await OpenAsync(strands.DataSource))
        {
            Assert.That(await ExecuteNonQueryAsync(connection, "INSERT INTO w VALUES ('d')"), Is.EqualTo(1));
        }

        Assert.Multiple(() =>
        {
            Assert.That(strands.Primary.ConnectionsMade, Is.EqualTo(made), "20 reads and 2 writes after the first read and write made no new connection object");
            Assert.That(strands.Secondary.ConnectionsMade, Is.EqualTo(secondaryMade), "the secondary's object, first opened by a write, served the later ones");
            Assert.That(strands.Primary.ConnectionsDisposed, Is.EqualTo(disposed), "a kept connection is closed, not disposed");
        });
    }

    [Test]
    public async Task An_inner_connection_handed_out_is_disposed_when_its_connection_closes_and_never_opened_again()
    {
        await using var strands = Strands();
        var connection = await OpenAsync(strands.DataSource);
        var made = strands.Primary.ConnectionsMade;
        var shown = connection.GetInnerConnection(HelixStrand.Primary)!;
        var disposed = false;
        shown.Disposed += (_, _) => disposed = true;
        await CloseAsync(connection);
        Assert.That(disposed, Is.True, "the caller may still hold it: nobody else may get it");

        await using var next = await OpenAsync(strands.DataSource);
        Assert.Multiple(() =>
        {
            Assert.That(next.GetInnerConnection(HelixStrand.Primary), Is.Not.SameAs(shown));
            Assert.That(strands.Primary.ConnectionsMade, Is.EqualTo(made + 1));
        });

        // Reopened, the connection that handed one out passes its new, unseen inner connection on again.
        if (IsAsync)
        {
            await connection.OpenAsync();
        }
        else
        {
            connection.Open();
        }

        await CloseAsync(connection);
        await CloseAsync(next);
        await ReadOnceAsync(strands.DataSource);
        await ReadOnceAsync(strands.DataSource);
        Assert.That(strands.Primary.ConnectionsMade, Is.EqualTo(made + 2), "the reopened connection's inner connection and next's were kept and served the two reads");
    }

    [Test]
    public async Task A_connection_closed_under_an_open_reader_does_not_pass_its_inner_connection_on()
    {
        await using var strands = Strands();
        var connection = await OpenAsync(strands.DataSource);
        var (made, disposed) = (strands.Primary.ConnectionsMade, strands.Primary.ConnectionsDisposed);
        var command = connection.CreateCommand();
        command.CommandText = Read;
        var reader = IsAsync ? await command.ExecuteReaderAsync() : command.ExecuteReader();
        await CloseAsync(connection);
        Assert.That(strands.Primary.ConnectionsDisposed, Is.EqualTo(disposed + 1), "the reader's inner command still points at it: a Cancel would reach whoever opened it next");

        await reader.DisposeAsync();
        command.Cancel(); // reaches nobody's connection
        await ReadOnceAsync(strands.DataSource);
        Assert.That(strands.Primary.ConnectionsMade, Is.EqualTo(made + 1));

        // Once its reader is closed, the same Helix connection passes its inner connection on again.
        if (IsAsync)
        {
            await connection.OpenAsync();
        }
        else
        {
            connection.Open();
        }

        var (values, _) = await QueryAsync(connection, Read);
        Assert.That(values.Single(), Is.EqualTo("a"));
        await CloseAsync(connection);
        await ReadOnceAsync(strands.DataSource);
        Assert.That(strands.Primary.ConnectionsMade, Is.EqualTo(made + 1), "the closed connection's inner connection was opened again");
    }

    [Test]
    public async Task A_reader_that_closes_its_connection_passes_the_inner_connection_on()
    {
        await using var strands = Strands();
        await ReadOnceAsync(strands.DataSource);
        var connection = await OpenAsync(strands.DataSource);
        var made = strands.Primary.ConnectionsMade;
        var command = connection.CreateCommand();
        command.CommandText = Read;
        await using (var reader = IsAsync ? await command.ExecuteReaderAsync(CommandBehavior.CloseConnection) : command.ExecuteReader(CommandBehavior.CloseConnection))
        {
            Assert.That(IsAsync ? await reader.ReadAsync() : reader.Read(), Is.True);
        }

        Assert.That(connection.State, Is.EqualTo(ConnectionState.Closed));
        await ReadOnceAsync(strands.DataSource);
        await ReadOnceAsync(strands.DataSource);
        Assert.That(strands.Primary.ConnectionsMade, Is.EqualTo(made), "the object this connection opened, kept once its reader closed it, served two reads more");
    }

    [Test]
    public async Task Connections_used_at_once_on_several_threads_never_share_an_inner_connection()
    {
        await using var strands = Strands();
        strands.Files.ExecuteOnBoth("CREATE TABLE t2 (v INTEGER)");
        var made = strands.Primary.ConnectionsMade;
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await ReadOnceAsync(strands.DataSource, fromPrimary: false); // a read the inserts keep busy may fail over
                if (i % 10 == 0)
                {
                    await using var connection = await OpenAsync(strands.DataSource);
                    await ExecuteNonQueryAsync(connection, "INSERT INTO t2 VALUES (@v)", ("@v", (w * 100) + i));
                }
            }
        }));
        await Task.WhenAll(workers).WaitAsync(Wait.Default);
        await Wait.ForReplayAsync(strands.DataSource);

        Assert.Multiple(() =>
        {
            Assert.That(strands.Primary.OpensOfOpenConnections + strands.Secondary.OpensOfOpenConnections, Is.Zero, "an inner connection was opened by a second user while open");
            Assert.That(strands.Primary.ConnectionsMade, Is.LessThanOrEqualTo(made + 4 + Helix.Data.Internal.SlotPool<System.Data.Common.DbConnection>.DefaultSize), "at most one object per worker in use at a time, and the kept ones");
            Assert.That(strands.Files.Scalar(HelixStrand.Secondary, "SELECT count(*) FROM t2"), Is.EqualTo(40L));
        });
    }

    [Test]
    public async Task Disposing_the_data_source_disposes_the_kept_inner_connections_and_those_closed_after_it()
    {
        await using var strands = Strands();
        await ReadOnceAsync(strands.DataSource);
        var open = await OpenAsync(strands.DataSource);
        await ExecuteNonQueryAsync(open, "INSERT INTO w VALUES ('b')");
        Assert.That(strands.Primary.ConnectionsMade - strands.Primary.ConnectionsDisposed, Is.EqualTo(1), "the kept object served the second connection");

        await strands.DataSource.DisposeAsync();
        await CloseAsync(open);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Primary.ConnectionsDisposed, Is.EqualTo(strands.Primary.ConnectionsMade));
            Assert.That(strands.Secondary.ConnectionsDisposed, Is.EqualTo(strands.Secondary.ConnectionsMade));
        });
    }

    [Test]
    public async Task A_strand_fault_discards_the_inner_connection_instead_of_keeping_it()
    {
        await using var strands = Strands();
        await ReadOnceAsync(strands.DataSource);
        var kept = strands.Primary.LastMade!; // the object that read opened, kept for the next connection
        var disposed = false;
        kept.Disposed += (_, _) => disposed = true;
        strands.Primary.FailExecutions(FaultPlan.IoError, text => text == Read);
        await using (var connection = await OpenAsync(strands.DataSource))
        {
            var (_, strand) = await QueryAsync(connection, Read);
            Assert.That(strand, Is.EqualTo(HelixStrand.Secondary), "failed over");
        }

        Assert.That(disposed, Is.True, "the faulted strand's connection is not passed on");
    }

    [Test]
    public async Task A_connection_whose_server_ended_the_statement_itself_is_kept()
    {
        // SQLITE_BUSY on an open connection, as a lock or command timeout the server confirmed: the connection is whole.
        await using var strands = Strands();
        await ReadOnceAsync(strands.DataSource);
        var kept = strands.Primary.LastMade!;
        var disposed = false;
        kept.Disposed += (_, _) => disposed = true;
        strands.Primary.FailExecutions(FaultPlan.Busy, text => text == Read);
        await using (var connection = await OpenAsync(strands.DataSource))
        {
            var (_, strand) = await QueryAsync(connection, Read);
            Assert.That(strand, Is.EqualTo(HelixStrand.Secondary), "failed over");
        }

        Assert.That(disposed, Is.False, "kept for the next connection");
    }

    [Test]
    public async Task A_data_source_the_application_wrote_is_asked_for_a_connection_at_every_open()
    {
        // It may set up each connection it makes (an access token that expires, say): such connections are not kept.
        using var files = new SqliteStrands("written");
        files.ExecuteOnBoth("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('a')");
        var primary = new TokenSqliteDataSource(files.Inner(HelixStrand.Primary));
        await using var dataSource = new HelixDataSourceBuilder("Helix;Preferred Strand=Primary")
            .UsePrimary(primary)
            .UseSecondary(new TokenSqliteDataSource(files.Inner(HelixStrand.Secondary)))
            .Build();
        var tokens = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            await using var connection = await OpenAsync(dataSource);
            var (values, _) = await QueryAsync(connection, Read);
            Assert.That(values.Single(), Is.EqualTo("a"));
            tokens.Add(primary.LastToken);
        }

        Assert.That(tokens, Is.Unique, "each open got a connection made for it");
    }

    [Test]
    public async Task A_strand_asked_to_make_its_connections_from_another_data_source_keeps_none_of_its_own_objects_since()
    {
        // EF Core's Npgsql provider hands the strands the data source it builds (enum mappings, plugins): an object of the
        // strand's own data source, kept or in use at the switch, must never serve a connection again.
        using var files = new SqliteStrands("source");
        files.ExecuteOnBoth("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('a')");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString("Preferred Strand=Primary"));
        var strand = dataSource.Strands[0];
        var (kept, inUse) = (strand.CreateConnection(), strand.CreateConnection());
        var disposed = new List<string>();
        kept.Disposed += (_, _) => disposed.Add("kept");
        inUse.Disposed += (_, _) => disposed.Add("in use");
        strand.Keep(kept);

        var source = new TokenSqliteDataSource(files.Inner(HelixStrand.Primary));
        Assert.That(strand.UseConnectionSource(source), Is.True);
        Assert.That(strand.UseConnectionSource(new TokenSqliteDataSource(files.Inner(HelixStrand.Primary))), Is.False, "the first source stays");
        Assert.That(strand.ConnectionSource, Is.SameAs(source));
        strand.Keep(inUse); // made before the switch: disposed, not kept

        var tokens = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            await ReadOnceAsync(dataSource);
            tokens.Add(source.LastToken);
        }

        Assert.Multiple(() =>
        {
            Assert.That(tokens, Is.EqualTo(new[] { "token-1", "token-1", "token-1" }), "one object of the new source, made once and opened again");
            Assert.That(disposed, Is.EqualTo(new[] { "kept", "in use" }), "the kept object of the strand's own data source dropped at the switch, the one in use when it came back");
        });
    }

    /// <summary>An application's own data source: every connection it makes carries a fresh token (here, in its StateChange handler's closure).</summary>
    private sealed class TokenSqliteDataSource(string connectionString) : System.Data.Common.DbDataSource
    {
        private int _made;

        public string LastToken { get; private set; } = string.Empty;

        public override string ConnectionString => connectionString;

        protected override System.Data.Common.DbConnection CreateDbConnection()
        {
            var token = "token-" + Interlocked.Increment(ref _made);
            var connection = new Microsoft.Data.Sqlite.SqliteConnection(connectionString);
            connection.StateChange += (_, e) =>
            {
                if (e.CurrentState == ConnectionState.Open)
                {
                    LastToken = token;
                }
            };
            return connection;
        }
    }
}
