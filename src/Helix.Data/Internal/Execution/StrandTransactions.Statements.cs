using System.Runtime.CompilerServices;
using System.Data;
using System.Data.Common;
using System.Runtime.ExceptionServices;
using Helix.Data.Strategies;

namespace Helix.Data.Internal.Execution;

/// <content>Statements inside the transaction: reads on one strand with failover, writes on every active strand.</content>
internal sealed partial class StrandTransactions
{
    /// <summary>Runs a statement of the connection inside this transaction: the engine's way for a connection with one open.</summary>
    // Out of line: inlined, an async method's state machine (with its copy of the execution) would sit in the
    // caller's frame and be zeroed on every call, taken or not: 1.6 KB in ReadPath.Execute (docs/performance.md).
    [MethodImpl(MethodImplOptions.NoInlining)]
    public async ValueTask<object?> ExecuteAsync(Execution execution)
    {
        ThrowIfUnusable();
        if (_dataSource.IsSingleStrand)
        {
            return await ExecuteSingleAsync(execution).ConfigureAwait(false);
        }

        return execution.IsWrite
            ? await WriteAsync(execution).ConfigureAwait(false)
            : await ReadAsync(execution).ConfigureAwait(false);
    }

    private async ValueTask<object?> ReadAsync(Execution execution)
    {
        while (PickReadSide(execution.Statement.ReadsServerToken) is { } side)
        {
            var inner = await EnsureActiveAsync(side, execution.Io, execution.CancellationToken).ConfigureAwait(false);
            if (inner is null)
            {
                continue; // the side left the transaction (LoseAsync keeps why)
            }

            var result = await StrandRunner.RunAsync(in execution, side.Strand, useOriginals: true, Enlist(execution.Statement, side)).ConfigureAwait(false);
            if (result.Succeeded || result.Cancelled || result.Kind == HelixErrorKind.StatementError)
            {
                return CommandEngine.Finish(in result, in execution, isRead: true);
            }

            // The side's connection is gone either way; the failover policy decides whether the read moves on.
            var policy = _dataSource.Reads!.Policy;
            policy.RecordFailure(side.Strand.Id, result.Error!);
            if (!policy.ShouldFailover(side.Strand.Id, result.Error!))
            {
                return CommandEngine.Finish(in result, in execution, isRead: true);
            }

            await LoseAsync(side, result.Error!, isFault: true, execution.Io).ConfigureAwait(false);
        }

        throw EveryStrandFailed("No strand in this transaction can serve the read: the strands it ran on failed, and the others miss its writes.");
    }

    /// <summary>
    /// The inner transaction for the inner command, as the provider would give it: when the caller set the command's
    /// transaction; and for a command the connection created during this transaction whose transaction nobody set, when
    /// the provider's own new commands join the open transaction (SQLite's do). Otherwise none, so that each provider
    /// answers a command that omits it as it would without Helix (SQLite refuses it, Npgsql runs it in the transaction).
    /// In an ambient transaction every command has it: code in a scope never names one, and some providers (MySqlConnector)
    /// refuse a command without it on a connection in a transaction.
    /// </summary>
    private DbTransaction? Enlist(IStatement statement, Side side) =>
        statement.TransactionSet || IsAmbient ? side.Inner
        : statement.CreatedIn == _owner && side.Inner?.Connection is { } open && side.Strand.NewCommandsJoinTransaction(open) ? side.Inner
        : null;

    /// <summary>
    /// A strand to read from: one that runs the transaction already, else a healthy one it has not touched; the read
    /// strategy's pick first. A read of a token each database generates prefers the strand that would check it
    /// (<see cref="CheckingSide"/>).
    /// </summary>
    private Side? PickReadSide(bool readsToken)
    {
        var preferred = readsToken ? CheckingSide()?.Strand : _dataSource.Reads!.Pick(); // the strategy's turn, as a plain read's
        return _sides.FirstOrDefault(s => s.Mode == Mode.Active && s.Strand == preferred)
            ?? _sides.FirstOrDefault(s => s.Mode == Mode.Active)
            ?? (_recorded.Count > 0 ? null : _sides.FirstOrDefault(s => s.Mode == Mode.Untouched && s.Strand == preferred)
                ?? _sides.FirstOrDefault(s => s.Mode == Mode.Untouched && s.Strand.IsHealthy));
    }

    /// <summary>
    /// A write: run on every strand active in the transaction, through the same fan-out as a plain write, and recorded for
    /// the strands that miss it; a strand that fails it leaves the transaction (<see cref="SettleSideAsync"/>).
    /// </summary>
    private async ValueTask<object?> WriteAsync(Execution execution)
    {
        execution.Statement.ThrowIfQueueCannotStore(_dataSource.Configuration.ReplayQueue);

        if (_timestamp == 0)
        {
            _timestamp = execution.Timestamp;
        }

        var active = await JoinForWriteAsync(execution).ConfigureAwait(false);
        _changesSchema |= execution.Statement.IsSchemaChange;
        ThrowIfSchemaChangeWouldBeReplayed();
        var targets = active.Select(s => s.Strand).ToArray();
        if (execution.Statement.ChecksServerToken)
        {
            execution.Statement.CheckOn(targets[0]);
        }

        var transactions = active.Select(s => Enlist(execution.Statement, s)).ToArray();
        var results = await WriteFanOut.RunAsync(execution, targets, transactions, InOrder(execution.WriteOrder), mayOffload: false).ConfigureAwait(false);
        var winner = Array.FindIndex(results, r => r.Succeeded);
        if (winner < 0)
        {
            return await NoStrandAppliedAsync(active, results, execution.Io).ConfigureAwait(false);
        }

        if (winner > 0 && execution.Statement.ChecksServerToken)
        {
            return await CheckingStrandFailedAsync(active, results, execution).ConfigureAwait(false);
        }

        (WritePath.Settled Settled, StrandResult Result)? other = null;
        for (var i = 0; i < active.Count; i++)
        {
            if (i != winner && await SettleSideAsync(active[i], results[i], execution).ConfigureAwait(false) is { } settled)
            {
                other = (settled, results[i]);
            }
        }

        ThrowIfSchemaChangeWouldBeReplayed();
        var position = _recorded.Count;
        _recorded.AddRange(execution.Statement.Record(in execution, _dataSource.Strands, _dataSource.Strands.Length));
        if (!execution.Statement.ChecksServerToken)
        {
            return FinishComparing(in results[winner], execution, other);
        }

        // The other strands ran it without the token's comparison: their answers differ by design, and say whether the check failed.
        if (other?.Settled.Rows is { } taken)
        {
            if (results[winner].Value is not int changed)
            {
                return CommandEngine.Finish(in results[winner], in execution, isRead: false, reader => NoteCheck(reader.RecordsAffected, taken, position));
            }

            NoteCheck(changed, taken, position);
        }

        return CommandEngine.Finish(in results[winner], in execution, isRead: false);
    }

    /// <summary>
    /// Returns the write's result to the caller, comparing what it reported and returned with the other strand's
    /// (<see cref="ReturnedValues"/>), as a write outside a transaction.
    /// </summary>
    private static object? FinishComparing(in StrandResult winning, Execution execution, (WritePath.Settled Settled, StrandResult Result)? other)
    {
        if (other is not { } compared)
        {
            return CommandEngine.Finish(in winning, in execution, isRead: false);
        }

        if (execution.Operation == Operation.Reader)
        {
            return CommandEngine.Finish(in winning, in execution, isRead: false, ReturnedValues.CompareOnClose(execution, compared.Result.Strand, compared.Settled), recordRows: true);
        }

        ReturnedValues.Compare(in execution, in winning, compared.Result, compared.Settled.Rows);
        return CommandEngine.Finish(in winning, in execution, isRead: false);
    }

    /// <summary>
    /// The order of a write inside a transaction: one strand after the other, never at once. Run at once, two
    /// transactions writing one row could each take its lock on one server and wait for the other's on the other server,
    /// a deadlock neither server can see: seen with four workers incrementing one row in transactions through Dapper,
    /// half of 60 transactions ended in command timeouts that took both strands out for a while (and with EF Core's
    /// <c>xmin</c> increments retried on conflict). In order, a writer holds a row on the later strand only once it
    /// holds it on the first, so a wait on the later strand always ends, and the first server detects any other deadlock
    /// itself. A write strategy's own order (<c>SecondaryFirst</c>) is kept; every writer of the data source uses it.
    /// </summary>
    private static HelixWriteOrder InOrder(HelixWriteOrder order) => order == HelixWriteOrder.Concurrent ? HelixWriteOrder.PrimaryFirst : order;

    /// <summary>
    /// Compares the rows a token-checked write changed on the checking strand with those the other strand changed
    /// without the check: fewer on the checking strand means its check refused rows the other strand took, and the
    /// transaction cannot commit them (<see cref="CannotCommitFrom"/>) unless rolled back to a savepoint before.
    /// </summary>
    private void NoteCheck(int checkedRows, int takenRows, int position)
    {
        if (checkedRows != takenRows)
        {
            CannotCommitFrom(position,
                "This transaction holds a write whose concurrency token check failed on the checking strand (the rows were changed since they were read: EF Core's DbUpdateConcurrencyException) and which the other strand took without the check. "
                + "It cannot commit: roll it back, or roll back to a savepoint taken before that write (EF Core does so itself unless its automatic savepoints are off).");
        }
    }

    /// <summary>
    /// Marks the write at <paramref name="position"/> (in <see cref="_recorded"/>) as one the strands took differently, so
    /// that the transaction cannot commit (<see cref="ThrowIfCannotCommit"/>) unless rolled back to a savepoint before it.
    /// The first such write is kept: a rollback that undoes it undoes every later one.
    /// </summary>
    private void CannotCommitFrom(int position, string why) => _cannotCommitFrom ??= (position, why);

    /// <summary>Refuses to commit a transaction holding a write the strands took differently (<see cref="CannotCommitFrom"/>).</summary>
    private void ThrowIfCannotCommit()
    {
        if (_cannotCommitFrom is { } held)
        {
            throw Break(new HelixException(held.Why));
        }
    }

    /// <summary>
    /// A transaction that changes the schema commits on every strand or on none (contract item 22): once a strand would
    /// get it by replay instead, the transaction is broken and the caller told; rolled back, it changed nothing.
    /// </summary>
    private void ThrowIfSchemaChangeWouldBeReplayed()
    {
        if (_changesSchema && _sides.FirstOrDefault(s => s.Mode is Mode.Recording or Mode.Refused) is { } missing)
        {
            throw Break(missing.Mode == Mode.Refused
                ? SchemaChangeRefused(missing.Strand, missing.Error)
                : SchemaChangeMissed(missing.Strand, missing.Error?.Message ?? missing.Strand.State.ToString(), missing.Error));
        }
    }

    /// <summary>A strand refused a schema change another strand took: not a strand that is down, but schemas that differ.</summary>
    private static HelixException SchemaChangeRefused(Strand strand, Exception? error) => new(
        $"This transaction changes the schema, and strand {strand.Name} refused a statement that the other strand took ({error?.Message}): the strands' schemas differ (a strand put in beside one in use, or one changed by hand). "
        + $"The transaction cannot commit: roll it back (it then changed nothing on any strand), make the schemas equal (for EF Core, EnsureCreated makes a new strand's tables; migrations can be applied to that strand's database alone), copy the rows with helix resync, and run it again.",
        error);

    private static HelixException SchemaChangeMissed(Strand strand, string why, Exception? error) => new(
        $"This transaction changes the schema, and strand {strand.Name} cannot take it ({why}). A schema change is not replayed, so the transaction cannot commit: roll it back (it then changed nothing on any strand), bring strand {strand.Name} back, and run it again.",
        error);

    /// <summary>
    /// Settles a side whose result the caller does not get: a reader it returned is read to its end; a side that refused
    /// the write, or faulted, leaves the transaction. Returns what the side reported (rows changed, rows returned), when
    /// it applied the write.
    /// </summary>
    private async ValueTask<WritePath.Settled?> SettleSideAsync(Side side, StrandResult result, Execution execution)
    {
        if (result.Succeeded)
        {
            var settled = await WritePath.SettleOtherAsync(in result, execution.Statement, execution.Io).ConfigureAwait(false);
            if (settled.Error is null)
            {
                return settled;
            }

            await LoseAsync(side, settled.Error, isFault: true, execution.Io).ConfigureAwait(false);
        }
        else if (result.Kind == HelixErrorKind.StatementError && !result.Cancelled)
        {
            await RefuseAsync(side, result.Error!, execution.Io).ConfigureAwait(false);
        }
        else
        {
            await LoseAsync(side, result.Error!, isFault: !result.Cancelled, execution.Io).ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>
    /// The strand that checked a token each database generates did not apply the statement, which the others took without
    /// the check: their answer says nothing about the token, so the caller cannot have it, and the transaction cannot
    /// commit what they took. The sides settle as for any write, the transaction is broken (its commit says why), and the
    /// caller gets the checking strand's own error, as without Helix: a server lost in the statement is the provider's
    /// transient error, which EF Core's retrying execution strategy retries (then checked on the strand left).
    /// </summary>
    private async ValueTask<object?> CheckingStrandFailedAsync(List<Side> active, StrandResult[] results, Execution execution)
    {
        for (var i = 0; i < active.Count; i++)
        {
            await SettleSideAsync(active[i], results[i], execution).ConfigureAwait(false);
        }

        var checking = results[0];
        Break(new HelixException(
            $"Strand {checking.Strand.Name} checks a concurrency token of this transaction (a value each database generates, such as PostgreSQL's xmin) and did not apply a statement that checks one ({checking.Error?.Message}); the other strand took it without the check. "
            + "The transaction cannot commit: roll it back and run it again (with EF Core, SaveChanges again; its retrying execution strategy does).",
            checking.Strand.Id == HelixStrand.Primary ? checking.Error : null,
            checking.Strand.Id == HelixStrand.Secondary ? checking.Error : null,
            isTransient: checking.Kind == HelixErrorKind.StrandFault));
        ExceptionDispatchInfo.Capture(checking.Error!).Throw();
        return null;
    }

    /// <summary>The side that would check a token each database generates: the first active one, else the first healthy one not touched yet.</summary>
    private Side? CheckingSide() =>
        _sides.FirstOrDefault(s => s.Mode == Mode.Active) ?? _sides.FirstOrDefault(s => s.Mode == Mode.Untouched && s.Strand.IsHealthy);

    private async ValueTask<object?> NoStrandAppliedAsync(List<Side> active, StrandResult[] results, IOBehavior io)
    {
        for (var i = 0; i < active.Count; i++)
        {
            if (!results[i].Cancelled && results[i].Kind == HelixErrorKind.StrandFault && !results[i].ServerEnded)
            {
                await LoseAsync(active[i], results[i].Error!, isFault: true, io).ConfigureAwait(false);
            }
        }

        // A text of several statements a server ended: one strand may hold some of them and the other none.
        if (Array.Exists(results, r => r.ServerEnded && !r.EndedWithoutEffect))
        {
            CannotCommitFrom(_recorded.Count,
                "This transaction holds a command of several statements that the servers ended part way (a lock or command timeout, a deadlock): the strands may each hold a different part of it. "
                + "It cannot commit: roll it back, or roll back to a savepoint taken before that command (EF Core does so itself unless its automatic savepoints are off).");
        }

        // A statement the first strand's server ended, or the caller cancelled there, was not sent to the other strand
        // (WriteFanOut). A strand that gets the transaction by replay does not meet that end either, nor the abort of a
        // transaction a server ends on an error (PostgreSQL's COMMIT then rolls back, while the replay would commit).
        // One the first strand's provider refused before sending it (a busy connection) reached no server: the
        // transaction goes on as it was.
        if (Array.Exists(results, r => r.NotSent && !HelixErrorClassifier.RefusedBeforeSending(r.Error!)))
        {
            CannotCommitFrom(_recorded.Count, EndedOnOneStrand(Array.Find(results, r => !r.NotSent).Strand));
        }
        else if (Array.Find(_sides, s => s.Mode == Mode.Recording) is { } replayed
            && Array.Exists(results, r => r.ServerEnded || r.Cancelled || HelixErrorClassifier.EndsTransaction(r.Error!)))
        {
            CannotCommitFrom(_recorded.Count, EndedWhileReplayed(results[0].Strand, replayed.Strand));
        }

        // The strands that answered refused the statement, or ended it themselves (a lock or command timeout, a deadlock:
        // contract amendment 31) and stay in the transaction, as the provider's would: the caller sees the provider's
        // exception, and decides (a rollback, to a savepoint or of the whole transaction).
        foreach (var result in results)
        {
            if (result.Cancelled || result.Kind == HelixErrorKind.StatementError || result.ServerEnded)
            {
                ExceptionDispatchInfo.Capture(result.Error!).Throw();
            }
        }

        throw Break(new HelixException(
            "The write failed with strand faults on every strand of the transaction; the transaction cannot go on. Roll it back and retry.",
            results.FirstOrDefault(r => r.Strand.Id == HelixStrand.Primary).Error,
            results.FirstOrDefault(r => r.Strand.Id == HelixStrand.Secondary).Error,
            isTransient: true));
    }

    /// <summary>
    /// Why a transaction cannot commit after a statement that one strand's server ended, or the caller cancelled there,
    /// and the other strand did not run: that server may have aborted the transaction (PostgreSQL, after any error: its
    /// commit then rolls back) or rolled it back (MySQL and MariaDB, on a deadlock), while the other strand's went on.
    /// </summary>
    private static string EndedOnOneStrand(Strand strand) =>
        $"This transaction holds a statement that strand {strand.Name}'s server ended (a deadlock, a lock or command timeout) or that was cancelled there, and that the other strand did not run: "
        + "that server may have aborted or rolled back the transaction while the other strand's went on. It cannot commit: roll it back (and retry it, as after a deadlock without Helix), "
        + "or roll back to a savepoint taken before that statement (EF Core does so itself unless its automatic savepoints are off).";

    /// <summary>
    /// Why a transaction cannot commit after a statement its strand did not apply while another strand gets the
    /// transaction by replay: the server may have ended its transaction (its commit then commits nothing), and the replay
    /// would commit the statements before it on the other strand.
    /// </summary>
    private static string EndedWhileReplayed(Strand strand, Strand replayed) =>
        $"This transaction holds a statement that strand {strand.Name} did not apply, and its server may have aborted or rolled back the transaction (PostgreSQL does after any error; its commit then commits nothing), while strand {replayed.Name} gets the transaction by replay. "
        + "It cannot commit: roll it back, or roll back to a savepoint taken before that statement (EF Core does so itself unless its automatic savepoints are off).";

    /// <summary>A transaction no strand can go on with, carrying why each strand left it (transient: run again, it may succeed).</summary>
    private HelixException EveryStrandFailed(string message) => new(
        message,
        _sides.FirstOrDefault(s => s.Strand.Id == HelixStrand.Primary)?.Error,
        _sides.FirstOrDefault(s => s.Strand.Id == HelixStrand.Secondary)?.Error,
        isTransient: true);

    private HelixException Break(HelixException error)
    {
        _broken = error;
        return error;
    }
}
