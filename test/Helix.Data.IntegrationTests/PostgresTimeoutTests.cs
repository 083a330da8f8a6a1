using System.Data.Common;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Npgsql;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// Statements the servers end themselves (contract amendment 31): Npgsql's command timeout, which the server confirms by
/// cancelling the statement, and PostgreSQL's own statement timeout. The statement had no effect and the strand answered:
/// the caller gets the provider's own exception, nothing is replayed, no strand is failed for it.
/// </summary>
public class PostgresTimeoutTests : PostgresTestBase
{
    private async Task<HelixDataSource> TableAndDataSourceAsync(string extra = "", string inner = "")
    {
        await ExecuteOnBothAsync("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 1)");
        return HelixDataSource.Create(HelixConnectionString("Preferred Strand=Primary" + extra, inner));
    }

    /// <summary>Holds row 1 on the given servers in open transactions, as other sessions of the application would.</summary>
    private async Task<IAsyncDisposable> LockRowAsync(params HelixStrand[] strands)
    {
        var holders = new List<(NpgsqlConnection Connection, NpgsqlTransaction Transaction)>();
        foreach (var strand in strands)
        {
            var connection = new NpgsqlConnection(PostgresServers.Of(strand).ConnectionString(Database) + ";Pooling=false");
            await connection.OpenAsync();
            var transaction = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync("UPDATE t SET v = v WHERE id = 1", transaction: transaction);
            holders.Add((connection, transaction));
        }

        return new Holders(holders);
    }

    private static string States(HelixDataSource dataSource) =>
        string.Join("; ", dataSource.GetStatus().Strands.Select(s => $"{s.Name}={s.State} backlog={s.Backlog}"));

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_write_both_servers_cancel_at_the_command_timeout_is_the_provider_s_timeout_and_is_never_applied(bool isAsync)
    {
        await using var dataSource = await TableAndDataSourceAsync();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (await LockRowAsync(HelixStrand.Primary, HelixStrand.Secondary))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE t SET v = v + 1 WHERE id = 1";
            command.CommandTimeout = 1;
            var thrown = Assert.CatchAsync<NpgsqlException>(async () => _ = isAsync ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery());
            Assert.Multiple(() =>
            {
                Assert.That(thrown!.InnerException, Is.InstanceOf<TimeoutException>(), "what Npgsql throws without Helix");
                Assert.That(dataSource.GetStatus().IsConverged, Is.True, "nothing queued: " + States(dataSource));
                Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy), States(dataSource));
            });
        }

        // Before, the write was "in doubt" and replayed on both strands once the locks went: applied after all.
        Assert.That(await connection.ExecuteAsync("UPDATE t SET v = v + 10 WHERE id = 1"), Is.EqualTo(1));
        await WaitForReplayAsync(dataSource);
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT v FROM t"), Is.EqualTo(new[] { "11" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT v FROM t"), Is.EqualTo(new[] { "11" }));
        });
    }

    [Test]
    public async Task A_write_one_server_cancels_is_applied_there_by_replay_once_it_can()
    {
        await using var dataSource = await TableAndDataSourceAsync();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (await LockRowAsync(HelixStrand.Secondary))
        {
            Assert.That(await connection.ExecuteAsync("UPDATE t SET v = v + 1 WHERE id = 1", commandTimeout: 1), Is.EqualTo(1), "the primary applied it");
            Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].Backlog, Is.EqualTo(1), States(dataSource));
        }

        await WaitForReplayAsync(dataSource);
        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT v FROM t"), Is.EqualTo(new[] { "2" }));
    }

    [Test]
    public async Task A_write_past_both_servers_statement_timeout_is_the_server_s_error_and_is_never_applied()
    {
        await using var dataSource = await TableAndDataSourceAsync(inner: ";Options=-c statement_timeout=300");
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (await LockRowAsync(HelixStrand.Primary, HelixStrand.Secondary))
        {
            var thrown = Assert.CatchAsync<PostgresException>(() => connection.ExecuteAsync("UPDATE t SET v = v + 1 WHERE id = 1"));
            Assert.Multiple(() =>
            {
                Assert.That(thrown!.SqlState, Is.EqualTo("57014"), thrown.Message);
                Assert.That(dataSource.GetStatus().IsConverged, Is.True, States(dataSource));
                Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy), States(dataSource));
            });
        }

        await WaitForReplayAsync(dataSource);
        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT v FROM t"), Is.EqualTo(new[] { "1" }));
        Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT v FROM t"), Is.EqualTo(new[] { "1" }));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_write_in_a_transaction_both_servers_cancel_leaves_the_transaction_to_the_caller_as_the_provider_would(bool isAsync)
    {
        await using var dataSource = await TableAndDataSourceAsync();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (await LockRowAsync(HelixStrand.Primary, HelixStrand.Secondary))
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync("INSERT INTO t VALUES (2, 2)", transaction: transaction);
            await transaction.SaveAsync("before_update");
            await using var command = connection.CreateCommand();
            command.Transaction = (HelixTransaction)transaction;
            command.CommandText = "UPDATE t SET v = v + 1 WHERE id = 1";
            command.CommandTimeout = 1;
            var thrown = Assert.CatchAsync<NpgsqlException>(async () => _ = isAsync ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery());
            Assert.Multiple(() =>
            {
                Assert.That(thrown!.InnerException, Is.InstanceOf<TimeoutException>(), "what Npgsql throws without Helix: " + thrown);
                Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy), States(dataSource));
            });

            // As with Npgsql alone: back to the savepoint, and the transaction goes on (before, both strands had left it).
            await transaction.RollbackAsync("before_update");
            await connection.ExecuteAsync("INSERT INTO t VALUES (3, 3)", transaction: transaction);
            await transaction.CommitAsync();
        }

        Assert.Multiple(async () =>
        {
            Assert.That(dataSource.GetStatus().IsConverged, Is.True, "nothing replayed: " + States(dataSource));
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT id, v FROM t ORDER BY id"), Is.EqualTo(new[] { "1|1", "2|2", "3|3" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT id, v FROM t ORDER BY id"), Is.EqualTo(new[] { "1|1", "2|2", "3|3" }));
        });
    }

    [Test]
    public async Task A_text_of_several_statements_the_servers_end_in_a_transaction_cannot_commit_until_rolled_back_past_it()
    {
        // Each strand may hold a different part of such a text (MySQL keeps the statements before the one that timed
        // out): the transaction stays, but its commit is refused unless rolled back to a savepoint taken before it.
        await using var dataSource = await TableAndDataSourceAsync();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (await LockRowAsync(HelixStrand.Primary, HelixStrand.Secondary))
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await transaction.SaveAsync("before");
            var thrown = Assert.CatchAsync<NpgsqlException>(() => connection.ExecuteAsync("INSERT INTO t VALUES (5, 5); UPDATE t SET v = v + 1 WHERE id = 1", transaction: transaction, commandTimeout: 1));
            Assert.That(thrown!.InnerException, Is.InstanceOf<TimeoutException>(), thrown.ToString());
            Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy), States(dataSource));

            var refused = Assert.ThrowsAsync<HelixException>(() => transaction.CommitAsync());
            Assert.That(refused!.Message, Does.Contain("ended part way").And.Contain("savepoint"));
        }

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await transaction.SaveAsync("before");
            var thrown = Assert.CatchAsync<NpgsqlException>(async () =>
            {
                await using (await LockRowAsync(HelixStrand.Primary, HelixStrand.Secondary))
                {
                    await connection.ExecuteAsync("INSERT INTO t VALUES (5, 5); UPDATE t SET v = v + 1 WHERE id = 1", transaction: transaction, commandTimeout: 1);
                }
            });
            Assert.That(thrown!.InnerException, Is.InstanceOf<TimeoutException>(), thrown.ToString());
            await transaction.RollbackAsync("before");
            await connection.ExecuteAsync("INSERT INTO t VALUES (6, 6)", transaction: transaction);
            await transaction.CommitAsync();
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT id, v FROM t ORDER BY id"), Is.EqualTo(new[] { "1|1", "6|6" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT id, v FROM t ORDER BY id"), Is.EqualTo(new[] { "1|1", "6|6" }));
        });
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_read_past_the_command_timeout_on_both_servers_is_the_provider_s_timeout_and_fails_no_strand(bool isAsync)
    {
        await using var dataSource = await TableAndDataSourceAsync(";Failover=Active");
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT v FROM t, pg_sleep(5)";
        command.CommandTimeout = 1;
        var thrown = Assert.CatchAsync<NpgsqlException>(async () => _ = isAsync ? await command.ExecuteScalarAsync() : command.ExecuteScalar());
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.InnerException, Is.InstanceOf<TimeoutException>(), "not a HelixException: " + thrown);
            Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy), States(dataSource));
        });
        Assert.That(await connection.QuerySingleAsync<int>("SELECT v FROM t"), Is.EqualTo(1), "the same connection reads again");
    }

    private sealed class Holders(List<(NpgsqlConnection Connection, NpgsqlTransaction Transaction)> holders) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var (connection, transaction) in holders)
            {
                await transaction.RollbackAsync();
                await connection.DisposeAsync();
            }
        }
    }
}
