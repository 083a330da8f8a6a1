using System.Data;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Npgsql;

namespace Helix.Data.IntegrationTests;

/// <summary>Transactions through Helix on two real PostgreSQL servers, with real faults.</summary>
[TestFixture(SyncOrAsync.Sync)]
[TestFixture(SyncOrAsync.Async)]
public class PostgresTransactionTests(SyncOrAsync mode) : PostgresTestBase
{
    private const string Pairs = "SELECT tx, part FROM pairs ORDER BY tx, part";

    private bool IsAsync => mode == SyncOrAsync.Async;

    private HelixDataSource Build(Action<Helix.Data.Replay.HelixReplayOptions>? replay = null) =>
        new HelixDataSourceBuilder(HelixConnectionString(inner: ";Timeout=2;Command Timeout=2;Cancellation Timeout=500"))
            .ConfigureReplay(o =>
            {
                o.BackoffMax = TimeSpan.FromMilliseconds(300);
                replay?.Invoke(o);
            })
            .Build();

    [SetUp]
    public Task CreateSchemaAsync() => ExecuteOnBothAsync("CREATE TABLE pairs (tx int NOT NULL, part int NOT NULL, PRIMARY KEY (tx, part))");

    /// <summary>One transaction that inserts three rows; idempotent, so a replay after an unknown commit outcome is harmless.</summary>
    private async Task TransactionAsync(HelixConnection connection, int tx)
    {
        const string Insert = "INSERT INTO pairs VALUES (@tx, @part) ON CONFLICT DO NOTHING";
        if (IsAsync)
        {
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted);
            for (var part = 0; part < 3; part++)
            {
                await connection.ExecuteAsync(Insert, new { tx, part }, transaction);
            }

            await transaction.CommitAsync();
        }
        else
        {
            using var transaction = connection.BeginTransaction(IsolationLevel.ReadCommitted);
            for (var part = 0; part < 3; part++)
            {
                connection.Execute(Insert, new { tx, part }, transaction);
            }

            transaction.Commit();
        }
    }

    [Test]
    public async Task A_write_whose_strands_change_different_numbers_of_rows_in_a_transaction_is_reported_as_outside_one()
    {
        await ExecuteAsync(HelixStrand.Primary, "INSERT INTO pairs VALUES (1, 0), (1, 1)");
        await ExecuteAsync(HelixStrand.Secondary, "INSERT INTO pairs VALUES (1, 0)");
        var divergences = new System.Collections.Concurrent.ConcurrentQueue<HelixDivergence>();
        await using var dataSource = new HelixDataSourceBuilder(HelixConnectionString()).OnDivergence(divergences.Enqueue).Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        const string Update = "UPDATE pairs SET part = part + 10 WHERE tx = @tx";
        int changed;
        if (IsAsync)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            changed = await connection.ExecuteAsync(Update, new { tx = 1 }, transaction);
            await transaction.CommitAsync();
        }
        else
        {
            using var transaction = connection.BeginTransaction();
            changed = connection.Execute(Update, new { tx = 1 }, transaction);
            transaction.Commit();
        }

        var divergence = divergences.Single();
        Assert.Multiple(() =>
        {
            Assert.That(changed, Is.EqualTo(2), "the primary's count");
            Assert.That((divergence.Kind, divergence.Strand, divergence.CommandText), Is.EqualTo((HelixDivergenceKind.RowsAffectedDiffer, HelixStrand.Secondary, Update)));
            Assert.That(divergence.Message, Does.Contain("2").And.Contain("1"));
        });
    }

    [Test]
    public async Task Commit_rollback_and_savepoints_on_both_servers()
    {
        await using var dataSource = Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        await TransactionAsync(connection, 1);

        var rolledBack = connection.BeginTransaction();
        await connection.ExecuteAsync("INSERT INTO pairs VALUES (2, 0)", transaction: rolledBack);
        rolledBack.Rollback();

        var withSavepoint = connection.BeginTransaction(IsolationLevel.RepeatableRead);
        await connection.ExecuteAsync("INSERT INTO pairs VALUES (3, 0)", transaction: withSavepoint);
        withSavepoint.Save("sp");
        await connection.ExecuteAsync("INSERT INTO pairs VALUES (3, 1)", transaction: withSavepoint);
        var duplicate = Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("INSERT INTO pairs VALUES (3, 1)", transaction: withSavepoint));
        withSavepoint.Rollback("sp");
        await connection.ExecuteAsync("INSERT INTO pairs VALUES (3, 2)", transaction: withSavepoint);
        withSavepoint.Commit();

        var expected = new[] { "1|0", "1|1", "1|2", "3|0", "3|2" };
        Assert.Multiple(async () =>
        {
            Assert.That(duplicate!.SqlState, Is.EqualTo(PostgresErrorCodes.UniqueViolation), "the provider's own exception inside a transaction");
            Assert.That(await RowsAsync(HelixStrand.Primary, Pairs), Is.EqualTo(expected));
            Assert.That(await RowsAsync(HelixStrand.Secondary, Pairs), Is.EqualTo(expected));
        });
    }

    [Test]
    public async Task A_strand_killed_in_the_middle_of_a_transaction_gets_the_whole_transaction_by_replay()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        var transaction = IsAsync ? await connection.BeginTransactionAsync() : connection.BeginTransaction();
        await connection.ExecuteAsync("INSERT INTO pairs VALUES (1, 0)", transaction: transaction);
        await PostgresServers.Secondary.KillAsync();
        await connection.ExecuteAsync("INSERT INTO pairs VALUES (1, 1)", transaction: transaction);
        await connection.ExecuteAsync("INSERT INTO pairs VALUES (1, 2)", transaction: transaction);
        await Commit(transaction);

        Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].Backlog, Is.EqualTo(1), "one entry for the whole transaction");
        await PostgresServers.Secondary.StartAsync();
        await WaitForReplayAsync(dataSource);
        Assert.That(await RowsAsync(HelixStrand.Secondary, Pairs), Is.EqualTo(await RowsAsync(HelixStrand.Primary, Pairs)).And.Count.EqualTo(3));
    }

    [Test]
    public async Task A_strand_that_hangs_at_commit_gets_the_transaction_by_replay_and_a_repeated_apply_is_harmless()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        var transaction = connection.BeginTransaction();
        for (var part = 0; part < 3; part++)
        {
            await connection.ExecuteAsync("INSERT INTO pairs VALUES (1, @part) ON CONFLICT DO NOTHING", new { part }, transaction);
        }

        await PostgresServers.Secondary.HangAsync();
        await Commit(transaction);

        Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].State, Is.Not.EqualTo(HelixStrandState.Healthy), "its commit timed out");
        await PostgresServers.Secondary.ResumeAsync();
        await WaitForReplayAsync(dataSource);

        // The frozen server may still have committed once it ran again (the COMMIT was in its socket): the outcome of a
        // commit that timed out is unknown, so replay applies it again, and ON CONFLICT DO NOTHING makes that harmless.
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Secondary, Pairs), Is.EqualTo(await RowsAsync(HelixStrand.Primary, Pairs)).And.Count.EqualTo(3));
            Assert.That(dataSource.GetStatus().Divergences, Is.Zero);
        });
    }

    /// <summary>
    /// Contract amendment 37: PostgreSQL aborts a transaction on any error, and its commit then commits nothing without an
    /// error. Before, a caller that committed after a refused statement while the other strand was down got that silent
    /// rollback on the primary, and the secondary got the statements before it by replay: the servers ended apart.
    /// </summary>
    [Test]
    public async Task A_refused_statement_while_a_strand_is_down_blocks_the_commit_that_its_replay_would_make_differ()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = Build();
        await using var connection = await dataSource.OpenConnectionAsync();
        await PostgresServers.Secondary.KillAsync();
        try
        {
            await connection.ExecuteAsync("INSERT INTO pairs VALUES (0, 0)"); // finds the secondary down
            await using (var transaction = await connection.BeginTransactionAsync())
            {
                await connection.ExecuteAsync("INSERT INTO pairs VALUES (1, 0)", transaction: transaction);
                Assert.CatchAsync<PostgresException>(() => connection.ExecuteAsync("INSERT INTO pairs VALUES (1, 0)", transaction: transaction), "duplicate key");
                var refused = Assert.CatchAsync<HelixException>(() => Commit(transaction));
                Assert.That(refused!.Message, Does.Contain("gets the transaction by replay").And.Contain("savepoint"));
            }

            await using (var transaction = await connection.BeginTransactionAsync())
            {
                await connection.ExecuteAsync("INSERT INTO pairs VALUES (2, 0)", transaction: transaction);
                await transaction.SaveAsync("before_duplicate");
                Assert.CatchAsync<PostgresException>(() => connection.ExecuteAsync("INSERT INTO pairs VALUES (2, 0)", transaction: transaction), "duplicate key");
                await transaction.RollbackAsync("before_duplicate");
                await connection.ExecuteAsync("INSERT INTO pairs VALUES (2, 1)", transaction: transaction);
                await Commit(transaction);
            }
        }
        finally
        {
            await PostgresServers.Secondary.StartAsync();
        }

        await WaitForReplayAsync(dataSource);
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, Pairs), Is.EqualTo(new[] { "0|0", "2|0", "2|1" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, Pairs), Is.EqualTo(new[] { "0|0", "2|0", "2|1" }));
        });
    }

    private async Task Commit(System.Data.Common.DbTransaction transaction)
    {
        if (IsAsync)
        {
            await transaction.CommitAsync();
        }
        else
        {
            transaction.Commit();
        }
    }

    [Test]
    public async Task Replayed_transactions_are_applied_atomically_on_the_recovering_strand()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = Build(o => o.BatchSize = 3);
        await using var connection = await dataSource.OpenConnectionAsync();
        await PostgresServers.Secondary.KillAsync();
        const int Transactions = 150;
        for (var tx = 0; tx < Transactions; tx++)
        {
            await TransactionAsync(connection, tx);
        }

        Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].Backlog, Is.EqualTo(Transactions));

        // The strand is held drained until the sampler is connected: otherwise the worker may replay everything while
        // the sampler is still opening its connection, and the test would sample nothing in between.
        dataSource.Drain(HelixStrand.Secondary, "test: replay waits for the sampler");
        await PostgresServers.Secondary.StartAsync();

        // Sample the recovering strand while the worker replays: no transaction may ever be seen in part.
        var samples = new List<(long Rows, long Partial)>();
        await using (var probe = new NpgsqlConnection(PostgresServers.Secondary.ConnectionString(Database) + ";Pooling=false"))
        {
            await probe.OpenAsync();
            dataSource.Undrain(HelixStrand.Secondary);
            const string Sample = "SELECT count(*), (SELECT count(*) FROM (SELECT tx FROM pairs GROUP BY tx HAVING count(*) <> 3) p) FROM pairs";
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                var sample = await probe.QuerySingleAsync<(long, long)>(Sample);
                samples.Add(sample);
                if (sample.Item1 == Transactions * 3 && dataSource.GetStatus().IsConverged)
                {
                    break;
                }
            }
        }

        var intermediate = samples.Count(s => s.Rows > 0 && s.Rows < Transactions * 3);
        TestContext.Out.WriteLine($"{samples.Count} samples, {intermediate} taken while the replay was part-way");
        Assert.Multiple(async () =>
        {
            Assert.That(samples.Where(s => s.Partial > 0), Is.Empty, "no transaction was ever visible in part");
            Assert.That(samples.Select(s => s.Rows % 3), Is.All.Zero);
            Assert.That(intermediate, Is.GreaterThan(0), "the sampling saw the replay in progress");
            Assert.That(await RowsAsync(HelixStrand.Secondary, Pairs), Is.EqualTo(await RowsAsync(HelixStrand.Primary, Pairs)).And.Count.EqualTo(Transactions * 3));
        });
    }

    // Issue 19, item 5: in single-strand mode every read inside a transaction threw NullReferenceException.
    [Test]
    public async Task Single_strand_mode_passes_a_transaction_through_Dapper_reads_and_writes_included()
    {
        await using var connection = new HelixConnection($"Helix;Provider=Npgsql;Primary=\"{PostgresServers.Primary.ConnectionString(Database)}\"");
        await connection.OpenAsync();
        var transaction = IsAsync ? (HelixTransaction)await connection.BeginTransactionAsync() : connection.BeginTransaction();
        var written = IsAsync
            ? await connection.ExecuteAsync("INSERT INTO pairs VALUES (1, @part)", new[] { new { part = 1 }, new { part = 2 } }, transaction)
            : connection.Execute("INSERT INTO pairs VALUES (1, @part)", new[] { new { part = 1 }, new { part = 2 } }, transaction);
        var withTransaction = IsAsync
            ? (await connection.QueryAsync<int>("SELECT part FROM pairs ORDER BY part", transaction: transaction)).ToList()
            : connection.Query<int>("SELECT part FROM pairs ORDER BY part", transaction: transaction).ToList();
        var withoutTransaction = IsAsync
            ? await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pairs")
            : connection.ExecuteScalar<long>("SELECT count(*) FROM pairs"); // Npgsql runs it in the transaction anyway
        if (IsAsync)
        {
            await transaction.RollbackAsync();
        }
        else
        {
            transaction.Rollback();
        }

        Assert.Multiple(async () =>
        {
            Assert.That(written, Is.EqualTo(2));
            Assert.That(withTransaction, Is.EqualTo(new[] { 1, 2 }));
            Assert.That(withoutTransaction, Is.EqualTo(2));
            Assert.That(await RowsAsync(HelixStrand.Primary, Pairs), Is.Empty, "rolled back");
        });
    }
}
