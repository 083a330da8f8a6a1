using Helix.Data.Replay;
using Helix.Data.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Helix.Data.Tests;

/// <summary>Contract section 5: every row of the write outcome table, and what Helix does for each.</summary>
public class WriteOutcomeTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Insert = "INSERT INTO t (id, v) VALUES (@id, @v)";

    private static FaultyStrands Strands(string extra = "", Action<HelixDataSourceBuilder>? configure = null)
    {
        var strands = new FaultyStrands(extra, configure);
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER)");
        return strands;
    }

    [Test]
    public async Task Both_succeed_the_caller_gets_the_primary_result()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        var rows = await ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1));
        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.EqualTo(1));
            Assert.That(strands.Files.Rows(HelixStrand.Primary, "SELECT * FROM t"), Is.EqualTo(new[] { "a|1" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t"), Is.EqualTo(new[] { "a|1" }));
            Assert.That(strands.Divergences, Is.Empty);
            Assert.That(strands.DataSource.GetStatus().IsConverged, Is.True);
        });
    }

    [Test]
    public async Task Both_succeed_with_different_row_counts_is_reported_as_a_divergence()
    {
        await using var strands = Strands();
        strands.Files.Execute(HelixStrand.Primary, "INSERT INTO t VALUES ('a', 1), ('b', 1)");
        strands.Files.Execute(HelixStrand.Secondary, "INSERT INTO t VALUES ('a', 1)");
        await using var connection = await OpenAsync(strands.DataSource);
        var rows = await ExecuteNonQueryAsync(connection, "UPDATE t SET v = 2");
        var divergence = strands.Divergences.Single();
        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.EqualTo(2), "the primary's result");
            Assert.That(divergence.Kind, Is.EqualTo(HelixDivergenceKind.RowsAffectedDiffer));
            Assert.That(divergence.Strand, Is.EqualTo(HelixStrand.Secondary));
            Assert.That(divergence.Message, Does.Contain("2").And.Contain("1"));
            Assert.That(strands.DataSource.GetStatus().Divergences, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Different_row_counts_inside_a_transaction_are_reported_as_outside_one_from_a_count_and_from_a_reader()
    {
        await using var strands = Strands();
        strands.Files.Execute(HelixStrand.Primary, "INSERT INTO t VALUES ('a', 1), ('b', 1)");
        strands.Files.Execute(HelixStrand.Secondary, "INSERT INTO t VALUES ('a', 1)");
        await using var connection = await OpenAsync(strands.DataSource);
        await using var transaction = IsAsync ? await connection.BeginTransactionAsync() : connection.BeginTransaction();
        var rows = await ExecuteNonQueryAsync(connection, "UPDATE t SET v = 2");
        var (returned, _) = await QueryAsync(connection, "UPDATE t SET v = 3 WHERE id = 'b' RETURNING v");
        var agreed = await ExecuteNonQueryAsync(connection, "UPDATE t SET v = 4 WHERE id = 'a'");
        if (IsAsync)
        {
            await transaction.CommitAsync();
        }
        else
        {
            transaction.Commit();
        }

        var divergences = strands.Divergences.ToList();
        Assert.Multiple(() =>
        {
            Assert.That((rows, agreed), Is.EqualTo((2, 1)), "the primary's results");
            Assert.That(returned, Is.EqualTo(new object[] { 3L }));
            Assert.That(divergences.Select(d => (d.Kind, d.Strand)), Is.EqualTo(Enumerable.Repeat((HelixDivergenceKind.RowsAffectedDiffer, HelixStrand.Secondary), 2)), "the update of every row and the one of a row the secondary lacks, not the one of a row both hold");
            Assert.That(divergences.Select(d => d.CommandText), Is.EquivalentTo(new[] { "UPDATE t SET v = 2", "UPDATE t SET v = 3 WHERE id = 'b' RETURNING v" }));
        });
    }

    [Test]
    public async Task One_succeeds_and_the_other_has_a_strand_fault_the_write_is_queued_and_replayed([Values] HelixStrand faulty)
    {
        await using var strands = Strands();
        strands.Plan(faulty).FailExecutions(FaultPlan.Busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        await using var connection = await OpenAsync(strands.DataSource);
        var rows = await ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1));
        var status = strands.DataSource.GetStatus()[faulty];
        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.EqualTo(1), "the successful strand's result");
            Assert.That(status.State, Is.AnyOf(HelixStrandState.Failed, HelixStrandState.CatchingUp), "out of service until replay catches up");
            Assert.That(status.Backlog, Is.EqualTo(1));
            Assert.That(status.LastError, Does.Contain("database is locked"));
            Assert.That(strands.Files.Rows(faulty, "SELECT * FROM t"), Is.Empty);
        });

        // Writes made while the strand is failed are queued behind the first one, not attempted.
        var attempts = strands.Plan(faulty).Executions;
        await ExecuteNonQueryAsync(connection, "UPDATE t SET v = 2 WHERE id = @id", ("id", "a"));
        Assert.That(strands.DataSource.GetStatus()[faulty].Backlog, Is.EqualTo(2));

        strands.Plan(faulty).Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(faulty, "SELECT * FROM t"), Is.EqualTo(new[] { "a|2" }));
            Assert.That(strands.Files.Rows(HelixStrand.Primary, "SELECT * FROM t"), Is.EqualTo(new[] { "a|2" }));
            Assert.That(strands.DataSource.GetStatus()[faulty].State, Is.EqualTo(HelixStrandState.Healthy));
            Assert.That(strands.Divergences, Is.Empty);
            Assert.That(strands.Plan(faulty).Executions, Is.GreaterThan(attempts));
        });
    }

    [Test]
    public async Task One_succeeds_and_the_other_refuses_the_statement_it_is_a_divergence_and_dead_lettered()
    {
        await using var strands = Strands();
        strands.Files.Execute(HelixStrand.Secondary, "INSERT INTO t VALUES ('a', 99)");
        await using var connection = await OpenAsync(strands.DataSource);
        var rows = await ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1));
        var divergence = strands.Divergences.Single();
        var queue = (HelixMemoryReplayQueue)strands.DataSource.ReplayQueue!;
        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.EqualTo(1));
            Assert.That(divergence.Kind, Is.EqualTo(HelixDivergenceKind.StatementRejected));
            Assert.That(divergence.Strand, Is.EqualTo(HelixStrand.Secondary));
            Assert.That(divergence.Message, Does.Contain("UNIQUE"));
            Assert.That(queue.DeadLetters.Single().Entry.Statements[0].CommandText, Is.EqualTo(Insert));
            Assert.That(strands.DataSource.GetStatus()[HelixStrand.Secondary].State, Is.EqualTo(HelixStrandState.Healthy), "a statement error is not a strand fault");
            Assert.That(strands.DataSource.GetStatus().ReplayDeadLettered, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Both_servers_end_the_statement_themselves_the_caller_gets_the_primary_exception_and_nothing_is_replayed()
    {
        // Contract amendment 31: SQLITE_BUSY on an open connection, as a lock wait or a command timeout the server
        // confirmed, says the statement had no effect. Before, the write was in doubt and replayed on both strands.
        await using var strands = Strands();
        var busy = new SqliteException("primary busy", 5);
        strands.Primary.FailExecutions(() => busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        strands.Secondary.FailExecutions(FaultPlan.Busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        await using var connection = await OpenAsync(strands.DataSource);
        var thrown = Assert.ThrowsAsync<SqliteException>(() => ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1)));
        Assert.Multiple(() =>
        {
            Assert.That(thrown, Is.SameAs(busy));
            Assert.That(strands.DataSource.GetStatus().IsConverged, Is.True, "nothing to replay");
            Assert.That(strands.DataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy), "both answered");
        });

        strands.Primary.Heal();
        strands.Secondary.Heal();
        Assert.That(await ExecuteNonQueryAsync(connection, Insert, ("id", "b"), ("v", 2)), Is.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, "SELECT * FROM t"), Is.EqualTo(new[] { "b|2" }), "the first write never applied");
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t"), Is.EqualTo(new[] { "b|2" }));
        });
    }

    [Test]
    public async Task Both_end_a_text_of_several_statements_the_outcome_stays_unknown()
    {
        // SQLite commits each statement of such a text on its own: the error may concern the last one only.
        await using var strands = Strands();
        const string Two = "INSERT INTO t (id, v) VALUES ('a', 1); INSERT INTO t (id, v) VALUES ('b', 2)";
        strands.Primary.FailExecutions(FaultPlan.Busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        strands.Secondary.FailExecutions(FaultPlan.Busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        await using var connection = await OpenAsync(strands.DataSource);
        var thrown = Assert.ThrowsAsync<HelixException>(() => ExecuteNonQueryAsync(connection, Two));
        Assert.That(thrown!.IsOutcomeUnknown, Is.True);
    }

    [Test]
    public async Task Both_refuse_the_statement_the_caller_gets_the_primary_exception_unchanged()
    {
        await using var strands = Strands();
        var primaryError = new SqliteException("primary refuses", 19);
        strands.Primary.FailExecutions(() => primaryError);
        strands.Secondary.FailExecutions(() => new SqliteException("secondary refuses", 19));
        await using var connection = await OpenAsync(strands.DataSource);
        var thrown = Assert.ThrowsAsync<SqliteException>(() => ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1)));
        Assert.Multiple(() =>
        {
            Assert.That(thrown, Is.SameAs(primaryError));
            Assert.That(strands.DataSource.GetStatus().IsConverged, Is.True, "nothing to replay");
            Assert.That(strands.Divergences, Is.Empty);
        });
    }

    [Test]
    public async Task Both_refuse_a_real_statement_the_caller_sees_the_provider_error()
    {
        await using var strands = Strands();
        strands.Files.ExecuteOnBoth("INSERT INTO t VALUES ('a', 1)");
        await using var connection = await OpenAsync(strands.DataSource);
        var thrown = Assert.ThrowsAsync<SqliteException>(() => ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 2)));
        Assert.That(thrown!.SqliteErrorCode, Is.EqualTo(19));
    }

    [Test]
    public async Task Both_have_strand_faults_after_the_statement_was_sent_the_outcome_is_unknown_and_both_strands_get_the_write()
    {
        await using var strands = Strands();
        strands.Primary.FailExecutions(FaultPlan.IoError, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        strands.Secondary.FailExecutions(() => new TimeoutException("secondary timed out"), text => text.StartsWith("INSERT", StringComparison.Ordinal));
        await using var connection = await OpenAsync(strands.DataSource);
        var thrown = Assert.ThrowsAsync<HelixException>(() => ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1)));
        var status = strands.DataSource.GetStatus();
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.PrimaryException, Is.InstanceOf<SqliteException>());
            Assert.That(thrown.SecondaryException, Is.InstanceOf<TimeoutException>());
            Assert.That(thrown.IsTransient, Is.True);
            Assert.That(thrown.Message, Does.Contain("outcome is unknown").And.Contain("disk I/O error").And.Contain("secondary timed out"));
            Assert.That(thrown.IsOutcomeUnknown, Is.True);
            Assert.That(status[HelixStrand.Primary].Backlog, Is.EqualTo(1), "the primary may have applied it, or not: it gets it by replay");
            Assert.That(status[HelixStrand.Secondary].Backlog, Is.EqualTo(1));
        });

        strands.Primary.Heal();
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, "SELECT * FROM t"), Is.EqualTo(new[] { "a|1" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t"), Is.EqualTo(new[] { "a|1" }));
        });
    }

    /// <summary>
    /// The load run's case: the secondary takes writes by replay only (here drained), and the primary's connection is lost
    /// while it runs the write. It may have committed it: the secondary must get it too, or the strands could differ.
    /// </summary>
    [Test]
    public async Task A_write_in_doubt_on_the_only_direct_strand_is_queued_for_the_other_strand_too()
    {
        await using var strands = Strands("Preferred Strand=Secondary");
        await using var connection = await OpenAsync(strands.DataSource);
        strands.DataSource.Drain(HelixStrand.Secondary, "maintenance");
        strands.Primary.FailExecutions(() => new IOException("Exception while reading from stream"), text => text.StartsWith("INSERT", StringComparison.Ordinal));
        var thrown = Assert.ThrowsAsync<HelixException>(() => ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1)));
        var status = strands.DataSource.GetStatus();
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.Message, Does.Contain("outcome is unknown").And.Contain("secondary: not attempted (Draining)"));
            Assert.That(status[HelixStrand.Primary].State, Is.EqualTo(HelixStrandState.Failed));
            Assert.That(status[HelixStrand.Primary].Backlog, Is.EqualTo(1));
            Assert.That(status[HelixStrand.Secondary].Backlog, Is.EqualTo(1), "queued behind the drain");
        });

        strands.Primary.Heal();
        strands.DataSource.Undrain(HelixStrand.Secondary);
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t"), Is.EqualTo(strands.Files.Rows(HelixStrand.Primary, "SELECT * FROM t")).And.EqualTo(new[] { "a|1" }));
    }

    [Test]
    public async Task A_fault_before_the_statement_was_sent_leaves_nothing_in_doubt_and_nothing_to_replay()
    {
        await using var strands = Strands("Preferred Strand=Secondary");
        await using var connection = await OpenAsync(strands.DataSource);
        Assert.That(connection.GetInnerConnection(HelixStrand.Primary), Is.Null, "the primary opens at the first write");
        strands.DataSource.Drain(HelixStrand.Secondary, "maintenance");
        strands.Primary.FailOpens(FaultPlan.Busy);
        var thrown = Assert.ThrowsAsync<HelixException>(() => ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1)));
        var status = strands.DataSource.GetStatus();
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.Message, Does.Contain("applied on no strand").And.Contain("database is locked"));
            Assert.That(thrown.IsOutcomeUnknown, Is.False);
            Assert.That(thrown.IsTransient, Is.True);
            Assert.That(status[HelixStrand.Primary].Backlog + status[HelixStrand.Secondary].Backlog, Is.Zero, "nothing to replay");
        });
    }

    [Test]
    public async Task A_statement_error_on_one_strand_and_a_fault_on_the_other_gives_the_statement_error()
    {
        await using var strands = Strands();
        strands.Primary.FailExecutions(FaultPlan.IoError, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        var refusal = new SqliteException("secondary refuses", 19);
        strands.Secondary.FailExecutions(() => refusal);
        await using var connection = await OpenAsync(strands.DataSource);
        var thrown = Assert.ThrowsAsync<SqliteException>(() => ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1)));
        Assert.Multiple(() =>
        {
            Assert.That(thrown, Is.SameAs(refusal));
            Assert.That(strands.DataSource.GetStatus()[HelixStrand.Primary].LastError, Does.Contain("disk I/O error"), "the fault was recorded");
        });
    }

    [Test]
    public async Task With_no_healthy_strand_a_write_waits_for_one_and_then_succeeds()
    {
        await using var strands = Strands();
        strands.Primary.FailExecutions(FaultPlan.IoError);
        strands.Secondary.FailExecutions(FaultPlan.IoError);
        await using var connection = await OpenAsync(strands.DataSource);
        Assert.ThrowsAsync<HelixException>(() => ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1)), "in doubt: both strands get it by replay");
        Assert.That(strands.DataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Failed));

        var write = Task.Run(() => ExecuteNonQueryAsync(connection, Insert, ("id", "b"), ("v", 2)));
        strands.Secondary.Heal();
        Assert.That(await write.WaitAsync(Wait.Default), Is.EqualTo(1), "acknowledged once the secondary came back");
        strands.Primary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.Files.Rows(HelixStrand.Primary, "SELECT * FROM t"), Is.EqualTo(new[] { "a|1", "b|2" }));
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t"), Is.EqualTo(new[] { "a|1", "b|2" }));
    }

    [Test]
    public async Task With_no_healthy_strand_a_write_fails_after_the_command_timeout_with_nothing_written()
    {
        await using var strands = Strands();
        strands.Primary.FailExecutions(FaultPlan.IoError);
        strands.Secondary.FailExecutions(FaultPlan.IoError);
        await using var connection = await OpenAsync(strands.DataSource);
        Assert.ThrowsAsync<HelixException>(() => ExecuteNonQueryAsync(connection, Insert, ("id", "a"), ("v", 1)));
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO t VALUES ('b', 2)";
        command.CommandTimeout = 1;
        var thrown = Assert.ThrowsAsync<HelixException>(async () => _ = IsAsync ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery());
        Assert.That(thrown!.Message, Does.Contain("No strand can take writes").And.Contain("primary is Failed").And.Contain("Nothing was written"));
    }

    [Test]
    public async Task A_full_replay_queue_rejects_the_write_before_anything_runs()
    {
        await using var strands = Strands("Replay Capacity=2;Replay Full=Reject");
        strands.Secondary.FailExecutions(FaultPlan.Busy);
        await using var connection = await OpenAsync(strands.DataSource);
        for (var i = 0; i < 2; i++)
        {
            await ExecuteNonQueryAsync(connection, Insert, ("id", $"k{i}"), ("v", i));
        }

        var thrown = Assert.ThrowsAsync<HelixException>(() => ExecuteNonQueryAsync(connection, Insert, ("id", "k2"), ("v", 2)));
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.Message, Does.Contain("replay queue of strand secondary is full (2 entries or 256 MiB of memory)").And.Contain("Nothing was written"));
            Assert.That(strands.Files.Rows(HelixStrand.Primary, "SELECT id FROM t ORDER BY id"), Is.EqualTo(new[] { "k0", "k1" }));
        });
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT id FROM t ORDER BY id"), Is.EqualTo(new[] { "k0", "k1" }));
    }

    [Test]
    public async Task A_full_replay_queue_with_Replay_Full_Drop_accepts_the_write_and_reports_the_loss()
    {
        await using var strands = Strands("Replay Capacity=1;Replay Full=Drop");
        strands.Secondary.FailExecutions(FaultPlan.Busy);
        await using var connection = await OpenAsync(strands.DataSource);
        await ExecuteNonQueryAsync(connection, Insert, ("id", "k0"), ("v", 0));
        await ExecuteNonQueryAsync(connection, Insert, ("id", "k1"), ("v", 1));
        Assert.Multiple(() =>
        {
            Assert.That(strands.Files.Rows(HelixStrand.Primary, "SELECT id FROM t ORDER BY id"), Is.EqualTo(new[] { "k0", "k1" }));
            Assert.That(strands.Divergences.Single().Kind, Is.EqualTo(HelixDivergenceKind.ReplayDropped));
            Assert.That(strands.DataSource.GetStatus().ReplayDropped, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Replay_None_accepts_writes_a_strand_misses_and_counts_them_as_dropped()
    {
        await using var strands = Strands("Replay=None");
        strands.Secondary.FailExecutions(FaultPlan.Busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        await using var connection = await OpenAsync(strands.DataSource);
        await ExecuteNonQueryAsync(connection, Insert, ("id", "k0"), ("v", 0));
        await ExecuteNonQueryAsync(connection, Insert, ("id", "k1"), ("v", 1));
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.Multiple(() =>
        {
            Assert.That(strands.DataSource.GetStatus().ReplayDropped, Is.EqualTo(2));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT id FROM t"), Is.Empty);
        });
    }

    [Test]
    public async Task A_write_cancelled_on_one_strand_after_the_other_applied_it_is_replayed_there()
    {
        await using var strands = Strands("Write Strategy=Sequential");
        using var cancellation = new CancellationTokenSource();
        strands.Secondary.FailExecutions(
            () =>
            {
                cancellation.Cancel();
                return new OperationCanceledException(cancellation.Token);
            },
            text => text.StartsWith("INSERT", StringComparison.Ordinal));
        await using var connection = await OpenAsync(strands.DataSource);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO t VALUES ('a', 1)";
        var rows = IsAsync ? await command.ExecuteNonQueryAsync(cancellation.Token) : command.ExecuteNonQuery();
        Assert.That(rows, Is.EqualTo(1), "the primary applied it: acknowledged");
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t"), Is.EqualTo(new[] { "a|1" }));
    }

    [Test]
    public async Task A_write_cancelled_by_the_caller_before_it_runs_is_neither_a_fault_nor_queued()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO t VALUES ('a', 1)";
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();
        Assert.That(async () => await command.ExecuteNonQueryAsync(cancellation.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(strands.DataSource.GetStatus().IsConverged, Is.True);
    }

    [Test]
    public async Task A_write_returning_rows_gives_the_primary_reader_and_settles_the_other()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        var (values, strand) = await QueryAsync(connection, "INSERT INTO t (id, v) VALUES ('a', 1), ('b', 2) RETURNING id");
        Assert.Multiple(() =>
        {
            Assert.That(values, Is.EqualTo(new[] { "a", "b" }));
            Assert.That(strand, Is.EqualTo(HelixStrand.Primary));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT id FROM t ORDER BY id"), Is.EqualTo(new[] { "a", "b" }));
            Assert.That(strands.Divergences, Is.Empty);
        });
    }

    [Test]
    public async Task ExecuteScalar_of_a_write_runs_on_both_strands()
    {
        await using var strands = Strands();
        await using var connection = await OpenAsync(strands.DataSource);
        var id = await ExecuteScalarAsync(connection, "INSERT INTO t (id, v) VALUES ('a', 1) RETURNING v + 10");
        Assert.Multiple(() =>
        {
            Assert.That(id, Is.EqualTo(11L));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t"), Is.EqualTo(new[] { "a|1" }));
        });
    }
}
