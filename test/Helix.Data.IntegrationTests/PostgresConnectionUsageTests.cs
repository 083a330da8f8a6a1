using System.Data.Common;
using Dapper;
using Helix.Data.IntegrationTests.Support;
using Npgsql;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// A connection used as Npgsql forbids (contract amendment 38), on two real PostgreSQL servers: a write or a commit while
/// a reader of the same connection is still open, and commands from several threads at once. Plain Npgsql refuses them;
/// through Helix they were acknowledged while the strand whose connection was busy refused them, and the strands stayed
/// apart (a divergence, a dead letter).
/// </summary>
[TestFixture(SyncOrAsync.Sync)]
[TestFixture(SyncOrAsync.Async)]
public class PostgresConnectionUsageTests(SyncOrAsync mode) : PostgresTestBase
{
    private const string Rows = "SELECT id, v FROM p ORDER BY id";

    private bool IsAsync => mode == SyncOrAsync.Async;

    [SetUp]
    public Task CreateSchemaAsync() => ExecuteOnBothAsync("CREATE TABLE p (id int PRIMARY KEY, v int NOT NULL); INSERT INTO p VALUES (1, 1), (2, 2)");

    [TestCase("Primary")]
    [TestCase("Secondary")]
    public async Task A_write_while_a_reader_of_the_connection_is_open_is_refused_as_Npgsql_refuses_it_and_runs_nowhere(string preferred)
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString($"Preferred Strand={preferred}"));
        await using var connection = await dataSource.OpenConnectionAsync();
        var error = await CatchAsync(() => UpdateEachRowReadAsync(connection, transaction: null));

        Assert.That(error, Is.InstanceOf<NpgsqlOperationInProgressException>(), "the provider's own exception, as without Helix");
        await AssertStrandsAsync(dataSource, "1|1", "2|2");
    }

    [Test]
    public async Task In_a_transaction_a_write_while_a_reader_is_open_is_refused_and_the_transaction_goes_on_on_both_strands()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Preferred Strand=Secondary"));
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("UPDATE p SET v = v + 5 WHERE id = 2", transaction: transaction);
        var error = await CatchAsync(() => UpdateEachRowReadAsync(connection, (HelixTransaction)transaction));
        await Execute(connection, "UPDATE p SET v = v + 100 WHERE id = 1", transaction);
        await Commit(transaction);

        Assert.That(error, Is.InstanceOf<NpgsqlOperationInProgressException>());
        await AssertStrandsAsync(dataSource, "1|101", "2|7");
    }

    [Test]
    public async Task A_commit_while_a_reader_is_open_is_refused_and_commits_on_no_strand()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Preferred Strand=Secondary"));
        await using var connection = await dataSource.OpenConnectionAsync();
        var transaction = (HelixTransaction)await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("UPDATE p SET v = v + 5 WHERE id = 2", transaction: transaction);
        Exception? error;
        await using (var command = new HelixCommand("SELECT id FROM p", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.That(await reader.ReadAsync(), Is.True);
            error = await CatchAsync(() => Commit(transaction));
        }

        await transaction.DisposeAsync();
        Assert.That(error, Is.InstanceOf<NpgsqlOperationInProgressException>(), "Npgsql refuses a commit beside an open reader");
        await AssertStrandsAsync(dataSource, "1|1", "2|2");
        Assert.That(await connection.ExecuteScalarAsync<int>("SELECT v FROM p WHERE id = 2"), Is.EqualTo(2), "the connection is usable after it");
    }

    [Test]
    public async Task A_rollback_to_a_savepoint_while_a_reader_is_open_is_refused_and_undoes_nothing_on_either_strand()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Preferred Strand=Secondary"));
        await using var connection = await dataSource.OpenConnectionAsync();
        var transaction = (HelixTransaction)await connection.BeginTransactionAsync();
        await Execute(connection, "UPDATE p SET v = v + 5 WHERE id = 1", transaction);
        await transaction.SaveAsync("before");
        await Execute(connection, "UPDATE p SET v = v + 5 WHERE id = 2", transaction);
        Exception? error;
        await using (var command = new HelixCommand("SELECT id FROM p", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.That(await reader.ReadAsync(), Is.True);
            error = await CatchAsync(async () =>
            {
                if (IsAsync)
                {
                    await transaction.RollbackAsync("before");
                }
                else
                {
                    transaction.Rollback("before");
                }
            });
        }

        await Commit(transaction);
        await transaction.DisposeAsync();
        Assert.That(error, Is.InstanceOf<NpgsqlOperationInProgressException>(), "Npgsql refuses it beside an open reader");
        await AssertStrandsAsync(dataSource, "1|6", "2|7");
    }

    [Test]
    public async Task Commands_from_several_threads_on_one_connection_are_refused_before_they_run_and_the_strands_keep_what_was_acknowledged()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using var connection = await dataSource.OpenConnectionAsync();
        using var start = new Barrier(8);
        var outcomes = await Task.WhenAll(Enumerable.Range(10, 8).Select(id => Task.Run(async () =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(10));
            try
            {
                await Execute(connection, $"INSERT INTO p VALUES ({id}, {id})", null);
                return (id, (Exception?)null);
            }
            catch (Exception e)
            {
                return (id, e);
            }
        })));

        var refused = outcomes.Where(o => o.Item2 is not null).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(refused.Select(o => o.Item2), Is.All.InstanceOf<InvalidOperationException>().And.Message.Contains("already in progress on this connection"));
            Assert.That(dataSource.GetStatus().Divergences, Is.Zero);
        });
        var acknowledged = outcomes.Where(o => o.Item2 is null).Select(o => $"{o.id}|{o.id}");
        await AssertStrandsAsync(dataSource, ["1|1", "2|2", .. acknowledged]);
        Assert.That(await connection.ExecuteAsync("INSERT INTO p VALUES (99, 99)"), Is.EqualTo(1), "the connection takes commands again");
    }

    /// <summary>The common mistake: for each row read, an update on the same connection while the reader is open.</summary>
    private async Task UpdateEachRowReadAsync(HelixConnection connection, HelixTransaction? transaction)
    {
        await using var command = new HelixCommand("SELECT id FROM p ORDER BY id", connection, transaction);
        if (IsAsync)
        {
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                await connection.ExecuteAsync("UPDATE p SET v = v + 10 WHERE id = @id", new { id = reader.GetInt32(0) }, transaction);
            }
        }
        else
        {
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                connection.Execute("UPDATE p SET v = v + 10 WHERE id = @id", new { id = reader.GetInt32(0) }, transaction);
            }
        }
    }

    private async Task Execute(HelixConnection connection, string sql, DbTransaction? transaction)
    {
        if (IsAsync)
        {
            await connection.ExecuteAsync(sql, transaction: transaction);
        }
        else
        {
            connection.Execute(sql, transaction: transaction);
        }
    }

    private async Task Commit(DbTransaction transaction)
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

    private static async Task<Exception?> CatchAsync(Func<Task> action)
    {
        try
        {
            await action();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>Both servers hold exactly these rows, no divergence was reported, and both strands are Healthy with nothing to replay.</summary>
    private async Task AssertStrandsAsync(HelixDataSource dataSource, params string[] expected)
    {
        var status = dataSource.GetStatus();
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, Rows), Is.EquivalentTo(expected), "primary");
            Assert.That(await RowsAsync(HelixStrand.Secondary, Rows), Is.EquivalentTo(expected), "secondary");
            Assert.That(status.Divergences, Is.Zero, "divergences");
            Assert.That(status.ReplayDeadLettered, Is.Zero, "dead letters");
            Assert.That(status.IsConverged, Is.True, "both strands Healthy, no backlog");
        });
    }
}
