using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>
/// Contract amendment 38: a connection used beside an open reader of its own, or from two threads at once. What one
/// strand's provider refuses as busy must not be applied on the other strand alone.
/// </summary>
public class ConnectionUsageTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Rows = "SELECT id, v FROM p ORDER BY id";

    /// <summary>What Npgsql, MySqlConnector and SqlClient do with a command beside an open reader of the same connection.</summary>
    private static Exception Busy() => new InvalidOperationException("There is already an open DataReader associated with this Connection which must be closed first.");

    private static FaultyStrands Strands(string extra = "")
    {
        var strands = new FaultyStrands(extra);
        strands.Files.ExecuteOnBoth("CREATE TABLE p (id INTEGER PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO p VALUES (1, 1), (2, 2)");
        return strands;
    }

    [Test]
    public async Task A_write_beside_an_open_reader_runs_first_on_the_reader_s_strand_and_goes_no_further_when_its_provider_refuses_it(
        [Values] HelixStrand readerOn, [Values("", "Write Strategy=Sequential")] string strategy)
    {
        await using var strands = Strands($"Preferred Strand={readerOn}" + (strategy.Length > 0 ? ";" + strategy : string.Empty));
        var otherRan = new List<string>();
        strands.Plan(Other(readerOn)).BeforeExecute(otherRan.Add);
        strands.Plan(readerOn).FailExecutions(Busy, text => text.StartsWith("UPDATE", StringComparison.Ordinal));
        await using var connection = await OpenAsync(strands.DataSource);
        await using var reader = await ReaderAsync(connection, "SELECT id FROM p");

        var refused = Assert.CatchAsync<InvalidOperationException>(() => ExecuteNonQueryAsync(connection, "UPDATE p SET v = v + 10"));
        Assert.Multiple(() =>
        {
            Assert.That(refused!.Message, Does.Contain("open DataReader"), "the provider's own exception");
            Assert.That(otherRan.Where(t => t.StartsWith("UPDATE", StringComparison.Ordinal)), Is.Empty, "the other strand, whose connection was free, never ran it");
            Assert.That(strands.Divergences, Is.Empty);
            Assert.That(strands.DataSource.GetStatus().IsConverged, Is.True, "no strand failed, nothing to replay");
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(strands.Files.Rows(HelixStrand.Secondary, Rows)));
        });
    }

    [Test]
    public async Task SQLite_takes_a_write_beside_an_open_reader_and_so_do_both_strands([Values] HelixStrand readerOn)
    {
        await using var strands = Strands($"Preferred Strand={readerOn}");
        await using var connection = await OpenAsync(strands.DataSource);
        await using (var reader = await ReaderAsync(connection, "SELECT id FROM p ORDER BY id"))
        {
            while (IsAsync ? await reader.ReadAsync() : reader.Read())
            {
                await ExecuteNonQueryAsync(connection, "UPDATE p SET v = v + 10 WHERE id = $id", ("$id", reader.GetInt64(0)));
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "1|11", "2|12" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "1|11", "2|12" }));
        });
    }

    [Test]
    public async Task A_commit_beside_an_open_reader_that_its_provider_refuses_commits_on_no_strand([Values] HelixStrand readerOn)
    {
        await using var strands = Strands($"Preferred Strand={readerOn}");
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = IsAsync ? await connection.BeginTransactionAsync() : connection.BeginTransaction();
        await using (var update = await ReaderAsync(connection, "UPDATE p SET v = v + 5 WHERE id = 2"))
        {
        }

        await using (var reader = await ReaderAsync(connection, "SELECT id FROM p"))
        {
            // The strand the reader reads refuses the commit, as Npgsql does beside an open reader.
            strands.Plan(((HelixDataReader)reader).Strand).FailExecutions(Busy, text => text == "COMMIT");
            var refused = Assert.CatchAsync<InvalidOperationException>(() => IsAsync ? transaction.CommitAsync() : Task.Run(transaction.Commit));
            Assert.That(refused!.Message, Does.Contain("open DataReader"));
        }

        await transaction.DisposeAsync();
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "1|1", "2|2" }), "the primary did not commit");
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "1|1", "2|2" }), "the secondary did not commit");
            Assert.That(strands.Divergences, Is.Empty);
            Assert.That(strands.DataSource.GetStatus().IsConverged, Is.True);
        });
    }

    [Test]
    public async Task A_rollback_to_a_savepoint_beside_an_open_reader_that_its_provider_refuses_is_undone_on_no_strand([Values] HelixStrand readerOn)
    {
        await using var strands = Strands($"Preferred Strand={readerOn}");
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = IsAsync ? await connection.BeginTransactionAsync() : connection.BeginTransaction();
        await using (var first = await ReaderAsync(connection, "UPDATE p SET v = v + 5 WHERE id = 1"))
        {
        }

        await Savepoint(() => transaction.Save("before"), () => transaction.SaveAsync("before"));
        await using (var second = await ReaderAsync(connection, "UPDATE p SET v = v + 5 WHERE id = 2"))
        {
        }

        await using (var reader = await ReaderAsync(connection, "SELECT id FROM p"))
        {
            strands.Plan(((HelixDataReader)reader).Strand).FailExecutions(Busy, text => text.StartsWith("ROLLBACK TO", StringComparison.Ordinal));
            Assert.CatchAsync<InvalidOperationException>(() => Savepoint(() => transaction.Rollback("before"), () => transaction.RollbackAsync("before")));
        }

        strands.Plan(HelixStrand.Primary).Heal();
        strands.Plan(HelixStrand.Secondary).Heal();
        await (IsAsync ? transaction.CommitAsync() : Task.Run(transaction.Commit));
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "1|6", "2|7" }), "nothing was rolled back on the primary");
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "1|6", "2|7" }), "nor on the secondary");
            Assert.That(strands.Divergences, Is.Empty);
        });
    }

    [Test]
    public async Task A_command_started_while_another_of_the_same_connection_runs_is_refused_before_it_runs_anywhere()
    {
        await using var strands = Strands();
        var ran = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var firstRunning = new ManualResetEventSlim();
        using var letFirstEnd = new ManualResetEventSlim();
        strands.Primary.BeforeExecute(text =>
        {
            ran.Enqueue(text);
            if (text.Contains("v + 1 ", StringComparison.Ordinal))
            {
                firstRunning.Set();
                letFirstEnd.Wait(Wait.Default);
            }
        });
        strands.Secondary.BeforeExecute(ran.Enqueue);
        await using var connection = await OpenAsync(strands.DataSource);

        var first = Task.Run(() => ExecuteNonQueryAsync(connection, "UPDATE p SET v = v + 1 WHERE id = 1"));
        Assert.That(firstRunning.Wait(Wait.Default), Is.True, "the first command reached the primary");
        var second = Assert.CatchAsync<InvalidOperationException>(() => ExecuteNonQueryAsync(connection, "UPDATE p SET v = v + 2 WHERE id = 2"));
        letFirstEnd.Set();
        Assert.That(await first, Is.EqualTo(1));

        Assert.Multiple(() =>
        {
            Assert.That(second!.Message, Does.Contain("already in progress on this connection").And.Contain("a connection of its own"));
            Assert.That(ran.Where(t => t.Contains("v + 2", StringComparison.Ordinal)), Is.Empty, "the refused command reached no strand");
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "1|2", "2|2" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "1|2", "2|2" }));
        });
        Assert.That(await ExecuteNonQueryAsync(connection, "UPDATE p SET v = v + 2 WHERE id = 2"), Is.EqualTo(1), "the connection takes the next command");
    }

    [Test]
    public async Task A_command_that_fails_leaves_the_connection_free_for_the_next()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        Assert.CatchAsync(() => ExecuteNonQueryAsync(connection, "UPDATE nowhere SET v = 1"));
        Assert.CatchAsync(() => ExecuteNonQueryAsync(connection, "SELECT * FROM nowhere"));
        Assert.That(await ExecuteNonQueryAsync(connection, "UPDATE p SET v = 3 WHERE id = 1"), Is.EqualTo(1));
    }

    private async Task Savepoint(Action sync, Func<Task> async)
    {
        if (IsAsync)
        {
            await async();
        }
        else
        {
            sync();
        }
    }

    private static HelixStrand Other(HelixStrand strand) => strand == HelixStrand.Primary ? HelixStrand.Secondary : HelixStrand.Primary;

    private async Task<System.Data.Common.DbDataReader> ReaderAsync(HelixConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = connection.ActiveTransaction;
        return IsAsync ? await command.ExecuteReaderAsync() : command.ExecuteReader();
    }
}
