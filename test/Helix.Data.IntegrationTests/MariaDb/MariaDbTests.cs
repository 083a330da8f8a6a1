using System.Data;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using MySqlConnector;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>Dapper and raw ADO.NET call sites, transactions and savepoints on two real MariaDB servers, through the bare form.</summary>
[TestFixture(SyncOrAsync.Sync)]
[TestFixture(SyncOrAsync.Async)]
public class MariaDbTests(SyncOrAsync mode) : MariaDbTestBase
{
    /// <summary>The documented idiom (docs/mysql.md): the newer <c>helix_ts</c> wins, whatever order the strand applies them in.</summary>
    private const string Upsert = """
        INSERT INTO items (id, name, version) VALUES (@id, @name, @helix_ts)
        ON DUPLICATE KEY UPDATE name = IF(VALUES(version) > version, VALUES(name), name), version = GREATEST(version, VALUES(version))
        """;

    private HelixConnection _connection = null!;

    private bool IsAsync => mode == SyncOrAsync.Async;

    public sealed record Item(Guid Id, string Name, long Version);

    [SetUp]
    public async Task CreateSchemaAsync()
    {
        await ExecuteOnBothAsync("CREATE TABLE items (id CHAR(36) PRIMARY KEY, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
        _connection = new HelixConnection(HelixConnectionString());
        await OpenAsync(_connection);
    }

    [TearDown]
    public async Task CloseAsync() => await _connection.DisposeAsync();

    // Amendment 43: PostgreSQL's SET LOCAL ends with the transaction, which Helix carries; MariaDB's is SET SESSION.
    [Test]
    public async Task SET_LOCAL_is_the_session_s_on_MariaDB_and_is_refused_before_it_runs()
    {
        await using var transaction = IsAsync ? await _connection.BeginTransactionAsync() : _connection.BeginTransaction();
        var refused = Assert.CatchAsync<NotSupportedException>(async () =>
            _ = IsAsync ? await _connection.ExecuteAsync("SET LOCAL sql_mode = 'ANSI_QUOTES'", transaction: transaction) : _connection.Execute("SET LOCAL sql_mode = 'ANSI_QUOTES'", transaction: transaction));
        Assert.That(refused!.Message, Does.Contain("changes the connection's session").And.Not.Contain("which Helix carries"));
    }

    [Test]
    public async Task The_bare_form_picks_MySqlConnector_and_Dapper_writes_reach_both_strands()
    {
        var ids = new[] { Guid.CreateVersion7(), Guid.CreateVersion7() };
        var written = await Execute(Upsert, ids.Select((id, i) => new { id, name = $"item {i}" }));
        var read = await Query<Item>("SELECT id, name, version FROM items ORDER BY name");
        var count = IsAsync ? await _connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM items") : _connection.ExecuteScalar<long>("SELECT COUNT(*) FROM items");
        Assert.Multiple(async () =>
        {
            Assert.That(_connection.GetInnerConnection(HelixStrand.Primary) ?? _connection.GetInnerConnection(HelixStrand.Secondary), Is.InstanceOf<MySqlConnection>());
            Assert.That(written, Is.EqualTo(2));
            Assert.That(read.Select(r => r.Name), Is.EqualTo(new[] { "item 0", "item 1" }));
            Assert.That(read.Select(r => r.Version), Is.All.GreaterThan(0), "helix_ts bound");
            Assert.That(count, Is.EqualTo(2));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT * FROM items ORDER BY id"), Is.EqualTo(await RowsAsync(HelixStrand.Primary, "SELECT * FROM items ORDER BY id")));
        });
    }

    [Test]
    public async Task Raw_ADO_NET_parameters_scalars_and_readers()
    {
        var id = Guid.CreateVersion7();
        await using (var insert = _connection.CreateCommand())
        {
            insert.CommandText = "INSERT INTO items (id, name, version) VALUES (@id, @name, 1)";
            insert.Parameters.Add(Parameter(insert, "@id", id.ToString()));
            insert.Parameters.Add(Parameter(insert, "@name", "raw"));
            Assert.That(IsAsync ? await insert.ExecuteNonQueryAsync() : insert.ExecuteNonQuery(), Is.EqualTo(1));
        }

        await using var select = _connection.CreateCommand();
        select.CommandText = "SELECT name, version FROM items WHERE id = @id";
        select.Parameters.Add(Parameter(select, "@id", id.ToString()));
        await using var reader = IsAsync ? await select.ExecuteReaderAsync() : select.ExecuteReader();
        Assert.That(IsAsync ? await reader.ReadAsync() : reader.Read(), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(reader.GetString(0), Is.EqualTo("raw"));
            Assert.That(reader.GetInt64(1), Is.EqualTo(1));
            Assert.That(reader.GetFieldType(0), Is.EqualTo(typeof(string)));
        });
    }

    [Test]
    public async Task A_duplicate_key_both_strands_refuse_reaches_the_caller_as_the_provider_s_own_exception()
    {
        var id = Guid.CreateVersion7();
        const string Insert = "INSERT INTO items (id, name, version) VALUES (@id, 'x', 1)";
        await Execute(Insert, new { id });
        var e = Assert.CatchAsync<MySqlException>(() => Execute(Insert, new { id }));
        Assert.That(e!.ErrorCode, Is.EqualTo(MySqlErrorCode.DuplicateKeyEntry));
    }

    [Test]
    public async Task Commit_rollback_and_savepoints_on_both_servers()
    {
        var (kept, undone, rolledBack) = (Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7());
        await using (var transaction = IsAsync ? await _connection.BeginTransactionAsync() : _connection.BeginTransaction())
        {
            await Execute(Upsert, new { id = kept, name = "kept" }, transaction);
            await Savepoint(transaction, t => t.Save("s1"), t => t.SaveAsync("s1"));
            await Execute(Upsert, new { id = undone, name = "undone" }, transaction);
            await Savepoint(transaction, t => t.Rollback("s1"), t => t.RollbackAsync("s1"));
            await Savepoint(transaction, t => t.Commit(), t => t.CommitAsync());
        }

        await using (var transaction = IsAsync ? await _connection.BeginTransactionAsync() : _connection.BeginTransaction())
        {
            await Execute(Upsert, new { id = rolledBack, name = "rolled back" }, transaction);
            await Savepoint(transaction, t => t.Rollback(), t => t.RollbackAsync());
        }

        foreach (var strand in new[] { HelixStrand.Primary, HelixStrand.Secondary })
        {
            Assert.That(await RowsAsync(strand, "SELECT name FROM items"), Is.EqualTo(new[] { "kept" }), strand.ToString());
        }
    }

    [Test]
    public async Task An_older_write_applied_again_does_not_overwrite_a_newer_one()
    {
        var id = Guid.CreateVersion7();
        await Execute(Upsert, new { id, name = "first" });
        var first = (await Query<Item>("SELECT id, name, version FROM items WHERE id = @id", new { id })).Single();
        await Execute(Upsert, new { id, name = "second" });

        // What a replay of the first write does on a strand that already has the second (an in-doubt write, a resync overlap).
        await using (var replayed = await OpenDirectAsync(HelixStrand.Secondary))
        {
            await replayed.ExecuteAsync(Upsert, new { id, name = "first", helix_ts = first.Version });
        }

        foreach (var strand in new[] { HelixStrand.Primary, HelixStrand.Secondary })
        {
            Assert.That(await RowsAsync(strand, "SELECT name FROM items"), Is.EqualTo(new[] { "second" }), strand.ToString());
        }
    }

    [Test]
    public async Task A_strand_stopped_for_real_misses_writes_that_replay_brings_back()
    {
        MariaDbServers.RequireFaultControl();
        await MariaDbServers.Secondary.KillAsync();
        var ids = Enumerable.Range(0, 20).Select(_ => Guid.CreateVersion7()).ToArray();
        foreach (var id in ids)
        {
            await Execute(Upsert, new { id, name = "while the secondary was down" });
        }

        Assert.That(await Query<long>("SELECT COUNT(*) FROM items"), Is.EqualTo(new[] { 20L }), "reads served by the primary");
        await MariaDbServers.Secondary.StartAsync();
        const string All = "SELECT * FROM items ORDER BY id";
        await Eventually.ThatAsync(
            async () => (await RowsAsync(HelixStrand.Secondary, All)).SequenceEqual(await RowsAsync(HelixStrand.Primary, All)),
            "the secondary has every write, as the primary has it",
            TimeSpan.FromSeconds(60));
        Assert.That(await RowsAsync(HelixStrand.Secondary, All), Has.Count.EqualTo(20));
    }

    [Test]
    public async Task A_TransactionScope_commits_on_both_servers_when_it_completes_and_on_neither_when_it_does_not()
    {
        // MySqlConnector refuses a command without its transaction on a connection in one: code in a scope names none.
        await _connection.CloseAsync();
        foreach (var complete in new[] { false, true })
        {
            using var scope = new System.Transactions.TransactionScope(System.Transactions.TransactionScopeAsyncFlowOption.Enabled);
            await OpenAsync(_connection);
            await Execute("INSERT INTO items (id, name, version) VALUES (@id, @name, 1)", new { id = Guid.CreateVersion7().ToString(), name = complete ? "kept" : "rolled back" });
            Assert.That(await Query<string>("SELECT name FROM items"), Has.Count.EqualTo(1), "the scope reads its own write");
            await _connection.CloseAsync();
            if (complete)
            {
                scope.Complete();
            }
        }

        const string Names = "SELECT name FROM items";
        Assert.That(await RowsAsync(HelixStrand.Primary, Names), Is.EqualTo(new[] { "kept" }));
        Assert.That(await RowsAsync(HelixStrand.Secondary, Names), Is.EqualTo(new[] { "kept" }));
    }

    private static System.Data.Common.DbParameter Parameter(System.Data.Common.DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        return parameter;
    }

    /// <summary>
    /// Contract amendment 38: MySqlConnector refuses a command beside an open reader of its connection; through Helix the
    /// write runs first on the reader's strand and goes no further, so the caller gets that refusal and neither server
    /// takes the write (before: acknowledged, applied on the other server only, and dead-lettered).
    /// </summary>
    [TestCase("Primary")]
    [TestCase("Secondary")]
    public async Task A_write_beside_an_open_reader_is_refused_as_MySqlConnector_refuses_it_and_runs_on_neither_server(string preferred)
    {
        var id = Guid.CreateVersion7();
        await Execute("INSERT INTO items (id, name, version) VALUES (@id, 'before', 1)", new { id });
        await using var connection = new HelixConnection(HelixConnectionString($"Preferred Strand={preferred}"));
        await OpenAsync(connection);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM items";
        var refused = Assert.CatchAsync<InvalidOperationException>(async () =>
        {
            await using var reader = IsAsync ? await command.ExecuteReaderAsync() : command.ExecuteReader();
            while (IsAsync ? await reader.ReadAsync() : reader.Read())
            {
                var read = reader.GetGuid(0);
                _ = IsAsync
                    ? await connection.ExecuteAsync("UPDATE items SET name = 'after' WHERE id = @read", new { read })
                    : connection.Execute("UPDATE items SET name = 'after' WHERE id = @read", new { read });
            }
        });

        Assert.Multiple(async () =>
        {
            Assert.That(refused!.Message, Does.Contain("This MySqlConnection is already in use"), "MySqlConnector's own exception");
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT name FROM items"), Is.EqualTo(new[] { "before" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT name FROM items"), Is.EqualTo(new[] { "before" }));
            Assert.That(connection.HelixDataSource!.GetStatus().Divergences, Is.Zero);
        });
    }

    private Task OpenAsync(HelixConnection connection)
    {
        if (IsAsync)
        {
            return connection.OpenAsync();
        }

        connection.Open();
        return Task.CompletedTask;
    }

    private Task<int> Execute(string sql, object? param = null, IDbTransaction? transaction = null) =>
        IsAsync ? _connection.ExecuteAsync(sql, param, transaction) : Task.FromResult(_connection.Execute(sql, param, transaction));

    private async Task<List<T>> Query<T>(string sql, object? param = null) =>
        IsAsync ? (await _connection.QueryAsync<T>(sql, param)).ToList() : _connection.Query<T>(sql, param).ToList();

    private Task Savepoint(System.Data.Common.DbTransaction transaction, Action<System.Data.Common.DbTransaction> sync, Func<System.Data.Common.DbTransaction, Task> async)
    {
        if (IsAsync)
        {
            return async(transaction);
        }

        sync(transaction);
        return Task.CompletedTask;
    }
}
