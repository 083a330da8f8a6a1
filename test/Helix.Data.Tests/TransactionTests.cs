using System.Data;
using Dapper;
using Helix.Data.Replay;
using Helix.Data.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Helix.Data.Tests;

/// <summary>Contract section 8: transactions on both strands, savepoints, faults inside and at commit.</summary>
public class TransactionTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Rows = "SELECT id, v FROM t ORDER BY id";

    private static FaultyStrands Strands(string extra = "")
    {
        var strands = new FaultyStrands(extra);
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER NOT NULL)");
        return strands;
    }

    private async Task<HelixTransaction> BeginAsync(HelixConnection connection, IsolationLevel level = IsolationLevel.Unspecified) =>
        IsAsync ? (HelixTransaction)await connection.BeginTransactionAsync(level) : connection.BeginTransaction(level);

    private async Task CommitAsync(HelixTransaction transaction)
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

    private async Task RollbackAsync(HelixTransaction transaction)
    {
        if (IsAsync)
        {
            await transaction.RollbackAsync();
        }
        else
        {
            transaction.Rollback();
        }
    }

    private async Task<int> InsertAsync(HelixConnection connection, string id, long v) =>
        await InTransactionAsync(connection, "INSERT INTO t VALUES (@id, @v)", ("id", id), ("v", v));

    /// <summary>Runs a statement in the connection's transaction: SQLite, like Helix over it, wants the command enlisted.</summary>
    private async Task<int> InTransactionAsync(HelixConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = connection.ActiveTransaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return IsAsync ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();
    }

    private async Task<object?> ScalarInTransactionAsync(HelixConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = connection.ActiveTransaction;
        return IsAsync ? await command.ExecuteScalarAsync() : command.ExecuteScalar();
    }

    [Test]
    public async Task Commit_applies_the_transaction_on_both_strands()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection, IsolationLevel.Serializable);
        await InsertAsync(connection, "a", 1);
        await InsertAsync(connection, "b", 2);
        await InTransactionAsync(connection, "UPDATE t SET v = v * 10 WHERE id = 'a'");
        var count = await ScalarInTransactionAsync(connection, "SELECT count(*) FROM t");
        Assert.Multiple(() =>
        {
            Assert.That(count, Is.EqualTo(2L), "a read inside the transaction sees its writes");
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.Empty, "not visible before the commit");
            Assert.That(transaction.IsolationLevel, Is.EqualTo(IsolationLevel.Serializable));
        });
        await CommitAsync(transaction);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "a|10", "b|2" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "a|10", "b|2" }));
            Assert.That(transaction.Connection, Is.Null);
            Assert.That(strands.DataSource.GetStatus().IsConverged, Is.True);
        });
    }

    [Test]
    public async Task Rollback_undoes_the_transaction_on_both_strands()
    {
        await using var strands = Strands();
        strands.Files.ExecuteOnBoth("INSERT INTO t VALUES ('keep', 1)");
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        await InTransactionAsync(connection, "DELETE FROM t WHERE id = 'keep'");
        if (IsAsync)
        {
            await transaction.RollbackAsync();
        }
        else
        {
            transaction.Rollback();
        }

        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "keep|1" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "keep|1" }));
        });
    }

    [Test]
    public async Task Savepoints_apply_to_both_strands()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        await Savepoint(() => transaction.Save("s1"), () => transaction.SaveAsync("s1"));
        await InsertAsync(connection, "b", 2);
        await Savepoint(() => transaction.Rollback("s1"), () => transaction.RollbackAsync("s1"));
        await InsertAsync(connection, "c", 3);
        await Savepoint(() => transaction.Save("s2"), () => transaction.SaveAsync("s2"));
        await InsertAsync(connection, "d", 4);
        await Savepoint(() => transaction.Release("s2"), () => transaction.ReleaseAsync("s2"));
        Assert.That(() => transaction.Rollback("s2"), Throws.InvalidOperationException.With.Message.Contains("'s2'"));
        await CommitAsync(transaction);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "a|1", "c|3", "d|4" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "a|1", "c|3", "d|4" }));
        });
    }

    private Task Savepoint(Action sync, Func<Task> async)
    {
        if (IsAsync)
        {
            return async();
        }

        sync();
        return Task.CompletedTask;
    }

    [Test]
    public async Task A_strand_fault_inside_the_transaction_is_replayed_as_the_whole_transaction([Values] HelixStrand faulty)
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        strands.Plan(faulty).FailExecutions(FaultPlan.IoError, text => text.Contains("'b'", StringComparison.Ordinal) || text.StartsWith("INSERT", StringComparison.Ordinal));
        await InsertAsync(connection, "b", 2);
        await InsertAsync(connection, "c", 3);
        await CommitAsync(transaction);
        var status = strands.DataSource.GetStatus()[faulty];
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(faulty, Rows), Is.Empty, "its side was rolled back");
            Assert.That(status.Backlog, Is.EqualTo(1), "one entry: the whole transaction");
            Assert.That(strands.Files.Rows(Other(faulty), Rows), Is.EqualTo(new[] { "a|1", "b|2", "c|3" }));
        });

        strands.Plan(faulty).Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.Files.Rows(faulty, Rows), Is.EqualTo(new[] { "a|1", "b|2", "c|3" }));
    }

    /// <summary>
    /// Contract amendment 37: a statement the first strand's server ended itself (here SQLITE_BUSY, as a deadlock or a lock
    /// timeout) is not sent to the other strand; the caller gets the first strand's own exception, no strand is failed,
    /// and the transaction commits only once rolled back past it. Before, the other strand ran it and the transaction went
    /// on there alone, with the first strand marked Failed.
    /// </summary>
    [Test]
    public async Task A_statement_the_first_strand_s_server_ended_goes_no_further_and_cannot_commit_until_rolled_back_past_it([Values] HelixStrand first)
    {
        await using var strands = Strands(first == HelixStrand.Secondary ? "Write Strategy=Sequential;Write Order=SecondaryFirst" : "");
        var sentToOther = new List<string>();
        strands.Plan(Other(first)).BeforeExecute(sentToOther.Add);
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        strands.Plan(first).FailExecutions(FaultPlan.Busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        var thrown = Assert.CatchAsync<SqliteException>(() => InsertAsync(connection, "b", 2));
        var refused = Assert.ThrowsAsync<HelixException>(() => CommitAsync(transaction));
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.SqliteErrorCode, Is.EqualTo(5), "the first strand's own exception");
            Assert.That(sentToOther.Count(text => text.StartsWith("INSERT", StringComparison.Ordinal)), Is.EqualTo(1), "only 'a' reached the other strand");
            Assert.That(refused!.Message, Does.Contain($"strand {first.ToString().ToLowerInvariant()}'s server ended").And.Contain("savepoint"));
            Assert.That(strands.DataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy));
        });
        await RollbackAsync(transaction);

        strands.Plan(first).Heal();
        transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        await Savepoint(() => transaction.Save("before_b"), () => transaction.SaveAsync("before_b"));
        strands.Plan(first).FailExecutions(FaultPlan.Busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        Assert.CatchAsync<SqliteException>(() => InsertAsync(connection, "b", 2));
        strands.Plan(first).Heal();
        await Savepoint(() => transaction.Rollback("before_b"), () => transaction.RollbackAsync("before_b"));
        await InsertAsync(connection, "c", 3);
        await CommitAsync(transaction);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "a|1", "c|3" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "a|1", "c|3" }));
            Assert.That(strands.DataSource.GetStatus().IsConverged, Is.True, "nothing replayed");
        });
    }

    [Test]
    public async Task A_strand_fault_at_commit_is_replayed_as_the_whole_transaction()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        await InsertAsync(connection, "b", 2);
        strands.Secondary.FailExecutions(FaultPlan.Busy, text => text == "COMMIT");
        await CommitAsync(transaction);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "a|1", "b|2" }));
            Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].LastError, Does.Contain("database is locked"));
        });
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "a|1", "b|2" }));
    }

    /// <summary>
    /// Every commit lost its connection: a strand may have committed the transaction before its answer was lost, so each
    /// strand gets it by replay (the strands cannot end up different), and the caller learns that the outcome is unknown.
    /// </summary>
    [Test]
    public async Task Strand_faults_at_every_commit_leave_the_outcome_unknown_and_both_strands_get_the_transaction()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        strands.Primary.FailExecutions(FaultPlan.Busy, text => text == "COMMIT");
        strands.Secondary.FailExecutions(() => new TimeoutException("no answer to the commit"), text => text == "COMMIT");
        var thrown = Assert.ThrowsAsync<HelixException>(() => CommitAsync(transaction));
        var status = strands.DataSource.GetStatus();
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.Message, Does.Contain("outcome is unknown").And.Contain("no answer to the commit"));
            Assert.That(thrown.IsOutcomeUnknown, Is.True);
            Assert.That(thrown.IsTransient, Is.True);
            Assert.That(status[HelixStrand.Primary].Backlog, Is.EqualTo(1));
            Assert.That(status[HelixStrand.Secondary].Backlog, Is.EqualTo(1));
        });

        strands.Primary.Heal();
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "a|1" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "a|1" }));
        });
    }

    [Test]
    public async Task A_strand_that_is_down_when_the_transaction_starts_gets_it_by_replay()
    {
        await using var strands = Strands();
        strands.Secondary.FailExecutions(FaultPlan.Busy, text => !text.Contains("sqlite_master", StringComparison.Ordinal));
        strands.DataSource.Drain(HelixStrand.Secondary, "test: out of service");
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        await InsertAsync(connection, "b", 2);
        await CommitAsync(transaction);
        Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].Backlog, Is.EqualTo(1));
        strands.Secondary.Heal();
        strands.DataSource.Undrain(HelixStrand.Secondary);
        await Wait.ForReplayAsync(strands.DataSource);
        var entry = strands.Files.Rows(HelixStrand.Secondary, Rows);
        Assert.That(entry, Is.EqualTo(new[] { "a|1", "b|2" }));
    }

    /// <summary>
    /// Both strands failed at once (a fault each met): a transaction's first write waits for one to come back within its
    /// command timeout, as a write outside a transaction does, instead of failing at once (contract amendment 32).
    /// </summary>
    [Test]
    public async Task With_no_healthy_strand_a_transaction_s_first_write_waits_for_one_and_then_commits()
    {
        await using var strands = Strands();
        await using var connection = await BothFailedAsync(strands);

        var transaction = await BeginAsync(connection);
        var write = Task.Run(() => InsertAsync(connection, "b", 2));
        strands.Secondary.Heal();
        Assert.That(await write.WaitAsync(Wait.Default), Is.EqualTo(1), "run once the secondary came back");
        await CommitAsync(transaction);
        strands.Primary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "a|1", "b|2" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "a|1", "b|2" }));
        });
    }

    [Test]
    public async Task With_no_healthy_strand_a_transaction_s_first_write_fails_after_the_command_timeout_with_nothing_written()
    {
        await using var strands = Strands();
        await using var connection = await BothFailedAsync(strands);

        var transaction = await BeginAsync(connection);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO t VALUES ('b', 2)";
        command.Transaction = transaction;
        command.CommandTimeout = 1;
        var thrown = Assert.ThrowsAsync<HelixException>(async () => _ = IsAsync ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery());
        Assert.That(thrown!.Message, Does.Contain("No strand can take writes").And.Contain("primary is Failed").And.Contain("Nothing was written"));
        await RollbackAsync(transaction);
    }

    /// <summary>
    /// Both strands fault at a savepoint after the transaction wrote: it cannot go on, and the exception carries each
    /// strand's error (EF Core gives its retrying strategy the provider's own, contract amendment 32).
    /// </summary>
    [Test]
    public async Task Both_strands_faulting_at_a_savepoint_break_the_transaction_with_each_strand_s_error()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        strands.Primary.FailExecutions(FaultPlan.IoError, text => text.StartsWith("SAVEPOINT", StringComparison.Ordinal));
        strands.Secondary.FailExecutions(FaultPlan.IoError, text => text.StartsWith("SAVEPOINT", StringComparison.Ordinal));
        var thrown = Assert.ThrowsAsync<HelixException>(() => Savepoint(() => transaction.Save("s1"), () => transaction.SaveAsync("s1")));
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.Message, Does.Contain("Every strand of the transaction failed"));
            Assert.That(thrown.IsTransient, Is.True);
            Assert.That(thrown.PrimaryException, Is.InstanceOf<SqliteException>());
            Assert.That(thrown.SecondaryException, Is.InstanceOf<SqliteException>());
        });
        await RollbackAsync(transaction);
        Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.Empty);
    }

    /// <summary>A connection whose write 'a' met a fault on both strands (in doubt: both get it by replay); both are Failed and stay down until healed.</summary>
    private async Task<HelixConnection> BothFailedAsync(FaultyStrands strands)
    {
        strands.Primary.FailExecutions(FaultPlan.IoError);
        strands.Secondary.FailExecutions(FaultPlan.IoError);
        var connection = await OpenAsync(strands.DataSource);
        Assert.ThrowsAsync<HelixException>(() => InTransactionAsync(connection, "INSERT INTO t VALUES ('a', 1)"));
        Assert.That(strands.DataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Failed));
        return connection;
    }

    [Test]
    public async Task Both_strands_refusing_a_statement_give_the_provider_exception_and_the_transaction_rolls_back()
    {
        await using var strands = Strands();
        strands.Files.ExecuteOnBoth("INSERT INTO t VALUES ('a', 0)");
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "b", 1);
        var thrown = Assert.ThrowsAsync<SqliteException>(() => InsertAsync(connection, "a", 1));
        Assert.That(thrown!.SqliteErrorCode, Is.EqualTo(19));
        transaction.Rollback();
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "a|0" }));
    }

    [Test]
    public async Task A_statement_one_strand_refuses_inside_a_committed_transaction_is_a_divergence()
    {
        await using var strands = Strands();
        strands.Files.Execute(HelixStrand.Secondary, "INSERT INTO t VALUES ('b', 99)");
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        await InsertAsync(connection, "b", 2);
        await CommitAsync(transaction);
        var queue = (HelixMemoryReplayQueue)strands.DataSource.ReplayQueue!;
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "a|1", "b|2" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "b|99" }), "its side was rolled back");
            Assert.That(strands.Divergences.Single().Kind, Is.EqualTo(HelixDivergenceKind.StatementRejected));
            Assert.That(queue.DeadLetters.Single().Entry.Statements, Has.Count.EqualTo(2), "the whole transaction is dead-lettered");
            Assert.That(queue.DeadLetters.Single().Entry.IsTransaction, Is.True);
        });
    }

    [Test]
    public async Task A_refusal_undone_by_a_savepoint_rollback_is_no_divergence_the_strand_gets_the_rest_by_replay()
    {
        await using var strands = Strands();
        strands.Files.Execute(HelixStrand.Secondary, "INSERT INTO t VALUES ('b', 99)");
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        transaction.Save("before_b");
        await InsertAsync(connection, "b", 2);
        transaction.Rollback("before_b");
        await InsertAsync(connection, "c", 3);
        await CommitAsync(transaction);
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Divergences, Is.Empty);
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "a|1", "b|99", "c|3" }));
        });
    }

    [Test]
    public async Task Dapper_transaction_argument_works()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        await using var transaction = await BeginAsync(connection);
        if (IsAsync)
        {
            await connection.ExecuteAsync("INSERT INTO t VALUES (@id, @v)", new[] { new { id = "a", v = 1 }, new { id = "b", v = 2 } }, transaction);
            Assert.That(await connection.ExecuteScalarAsync<long>("SELECT sum(v) FROM t", transaction: transaction), Is.EqualTo(3));
        }
        else
        {
            connection.Execute("INSERT INTO t VALUES (@id, @v)", new[] { new { id = "a", v = 1 }, new { id = "b", v = 2 } }, transaction);
            Assert.That(connection.ExecuteScalar<long>("SELECT sum(v) FROM t", transaction: transaction), Is.EqualTo(3));
        }

        await CommitAsync(transaction);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "a|1", "b|2" }));
    }

    [Test]
    public async Task A_command_not_enlisted_is_answered_as_the_provider_answers_it()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        await using var before = connection.CreateCommand();
        before.CommandText = "INSERT INTO t VALUES ('b', 2)";
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        var thrown = Assert.ThrowsAsync<InvalidOperationException>(async () => _ = IsAsync ? await before.ExecuteNonQueryAsync() : before.ExecuteNonQuery());
        Assert.That(thrown!.Message, Does.Contain("transaction"), "SQLite refuses a command made before the transaction and run without it, with or without Helix");
        await CommitAsync(transaction);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.EqualTo(new[] { "a|1" }));
    }

    // Issue 19, item 7: SQLite's CreateCommand puts a new command in the connection's open transaction; Helix's did not.
    [Test]
    public async Task A_command_the_connection_creates_during_a_transaction_runs_in_it_as_SQLite_s_own_does()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES ('a', 1)");
        if (IsAsync)
        {
            await connection.ExecuteAsync("INSERT INTO t VALUES ('b', 2)");
        }
        else
        {
            connection.Execute("INSERT INTO t VALUES ('b', 2)"); // Dapper without transaction:
        }

        var inside = await ExecuteScalarAsync(connection, "SELECT count(*) FROM t");
        await RollbackAsync(transaction);
        Assert.Multiple(() =>
        {
            Assert.That(inside, Is.EqualTo(2L), "the reads ran in the transaction too");
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.Empty, "rolled back with the transaction");
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.Empty);
        });
    }

    [Test]
    public async Task Closing_the_connection_rolls_the_transaction_back()
    {
        await using var strands = Strands();
        var connection = await OpenAsync(strands.DataSource);
        _ = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        await connection.DisposeAsync();
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, Rows), Is.Empty);
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, Rows), Is.Empty);
        });
    }

    [Test]
    public async Task A_read_only_transaction_touches_one_strand()
    {
        await using var strands = Strands("Preferred Strand=Primary");
        await using var connection = await OpenAsync(strands.DataSource);
        var transaction = await BeginAsync(connection);
        await ScalarInTransactionAsync(connection, "SELECT count(*) FROM t");
        await CommitAsync(transaction);
        Assert.That(connection.GetInnerConnection(HelixStrand.Secondary), Is.Null);
    }

    // Issue 19, item 5: in single-strand mode every read inside a transaction threw NullReferenceException.
    [Test]
    public async Task Single_strand_mode_passes_a_transaction_through_reads_writes_savepoints_and_Dapper_included()
    {
        using var files = new SqliteStrands("single-strand-tx");
        await using var dataSource = SingleStrand(files, "CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER NOT NULL)");
        await using var connection = await OpenAsync(dataSource);
        var transaction = await BeginAsync(connection);
        await InsertAsync(connection, "a", 1);
        var read = await ScalarInTransactionAsync(connection, "SELECT count(*) FROM t");
        var (values, strand) = await QueryAsync(connection, "SELECT v FROM t WHERE id = 'a'");
        transaction.Save("before_b");
        await InsertAsync(connection, "b", 2);
        transaction.Rollback("before_b");
        var dapper = IsAsync
            ? (await connection.QueryAsync<long>("SELECT v FROM t ORDER BY id", transaction: transaction)).ToList()
            : connection.Query<long>("SELECT v FROM t ORDER BY id", transaction: transaction).ToList();
        await CommitAsync(transaction);
        Assert.Multiple(() =>
        {
            Assert.That(read, Is.EqualTo(1L));
            Assert.That(values, Is.EqualTo(new object[] { 1L }));
            Assert.That(strand, Is.EqualTo(HelixStrand.Primary));
            Assert.That(dapper, Is.EqualTo(new[] { 1L }));
            Assert.That(files.Rows(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "a|1" }));
        });
    }

    [Test]
    public async Task Single_strand_mode_reports_a_failed_commit_with_the_provider_s_own_exception()
    {
        using var files = new SqliteStrands("single-strand-commit");
        await using var dataSource = SingleStrand(files, "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)", ";Foreign Keys=True");
        await using var connection = await OpenAsync(dataSource);
        var transaction = await BeginAsync(connection);
        await InTransactionAsync(connection, "INSERT INTO c VALUES (42)");
        var thrown = Assert.CatchAsync(() => CommitAsync(transaction));
        Assert.Multiple(() =>
        {
            Assert.That(thrown, Is.InstanceOf<SqliteException>(), "the provider's own exception, as without Helix");
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT * FROM c"), Is.Empty);
        });
    }

    /// <summary>A data source in single-strand mode over the primary file, after running <paramref name="schema"/> on it.</summary>
    private static HelixDataSource SingleStrand(SqliteStrands files, string schema, string inner = "")
    {
        files.Execute(HelixStrand.Primary, schema);
        return HelixDataSource.Create($"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{files.Inner(HelixStrand.Primary)}{inner}\"");
    }

    private static HelixStrand Other(HelixStrand strand) => strand == HelixStrand.Primary ? HelixStrand.Secondary : HelixStrand.Primary;
}
