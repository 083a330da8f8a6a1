using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Helix.Data.Internal;
using Helix.Data.Logging;

namespace Helix.Data;

/// <content>Execution: classification, reads with failover, and what runs on one strand.</content>
public sealed partial class HelixCommand
{
    // The inner commands running now (for Cancel): one per strand, held in the command itself, no list or lock per command.
    private ActiveCommands _active;
    private (DbCommand Command, bool Detach, HelixConnection Connection)? _readerCommand;

    // The execution in progress: whether it is a write, when it started, and its span (null when nobody listens).
    private bool _executingWrite;
    private long? _executionStarted;
    private Activity? _activity;

    internal enum Operation
    {
        NonQuery,
        Scalar,
        Reader,
    }

    /// <summary>Releases the inner command behind a reader this command returned.</summary>
    internal void OnReaderClosed(HelixDataReader reader)
    {
        if (_readerCommand is { } pending)
        {
            _readerCommand = null;
            pending.Connection.ReaderClosed();
            ApplyOutputs(CaptureOutputs(pending.Command)); // output values are there once the reader is closed
            _batch?.SetRecordsAffected((pending.Command as BatchAsCommand)?.RecordsAffected());
            Release(pending.Command, pending.Detach);
        }
    }

    private List<DbCommand> ActiveInnerCommands()
    {
        var active = new List<DbCommand>(ActiveCommands.Length);
        for (var i = 0; i < ActiveCommands.Length; i++)
        {
            if (Volatile.Read(ref _active[i]) is { } inner)
            {
                active.Add(inner);
            }
        }

        return active;
    }

    private void Track(DbCommand inner)
    {
        for (var i = 0; i < ActiveCommands.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _active[i], inner, null) is null)
            {
                return;
            }
        }

        // More inner commands at once than slots cannot happen (one per strand, a settling reader included); were it
        // to, Cancel would miss this one, nothing else.
    }

    private void Untrack(DbCommand inner)
    {
        for (var i = 0; i < ActiveCommands.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _active[i], null, inner) == inner)
            {
                return;
            }
        }
    }

    /// <remarks>
    /// Not an async method, nor are the read path's steps below it: a command whose strand answers at once (any
    /// synchronous call, and SQLite's asynchronous ones) runs without a state machine, and the steps that wait on I/O
    /// continue in async methods of their own. Errors come back in the returned task, as they would from an async method.
    /// </remarks>
    private ValueTask<object?> ExecuteAsync(Operation operation, CommandBehavior behavior, IOBehavior io, CancellationToken cancellationToken)
    {
        Activity? activity = null;
        try
        {
            var connection = _connection ?? throw new InvalidOperationException($"{operation.MethodName()}: the Connection property has not been initialized.");
            connection.ThrowIfNotOpen(operation);
            if (_readerCommand is not null)
            {
                throw new InvalidOperationException("This command has an open reader; close it before executing the command again.");
            }

            cancellationToken.ThrowIfCancellationRequested();
            var dataSource = connection.DataSourceOrThrow;
            var transaction = connection.ActiveTransaction;
            if (_transaction is not null && _transaction != transaction)
            {
                throw new InvalidOperationException("The command's Transaction is not the active transaction of its connection (it has completed, or belongs to another connection).");
            }

            var text = _batch?.Analyze() ?? (_commandType == CommandType.Text ? SqlClassifier.Analyze(_commandText) : new(SqlClassifier.IsWrite(_commandType, _commandText), null));
            var isWrite = Intent switch
            {
                HelixCommandIntent.Read => false,
                HelixCommandIntent.Write => true,
                _ => operation == Operation.NonQuery || text.IsWrite,
            };

            _executingWrite = isWrite;
            _executionStarted = HelixMetrics.CommandDuration.Enabled ? dataSource.TimeProvider.GetTimestamp() : null;
            activity = HelixActivities.StartCommand(isWrite, dataSource);
            _activity = activity;
            var executing = transaction is not null ? transaction.ExecuteAsync(this, operation, behavior, text, isWrite, io, cancellationToken)
                : dataSource.IsSingleStrand ? ExecuteSingleAsync(connection, dataSource, operation, behavior, text, isWrite, io, cancellationToken)
                : isWrite ? ExecuteWriteAsync(connection, dataSource, operation, behavior, text, io, cancellationToken)
                : ExecuteReadAsync(connection, dataSource, operation, behavior, text, io, cancellationToken);
            return activity is null ? executing : TraceAsync(executing, activity);
        }
        catch (Exception e)
        {
            HelixActivities.Fail(activity, e);
            _activity = null;
            activity?.Dispose();

            // The caller's own cancellation gives a canceled task, as the providers' methods give, not a faulted one.
            return CallerCancellation.Is(e, cancellationToken)
                ? ValueTask.FromCanceled<object?>(cancellationToken)
                : ValueTask.FromException<object?>(e);
        }
    }

    /// <summary>Ends the command's span when the execution ends.</summary>
    private async ValueTask<object?> TraceAsync(ValueTask<object?> executing, Activity activity)
    {
        try
        {
            return await executing.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            HelixActivities.Fail(activity, e);
            throw;
        }
        finally
        {
            _activity = null;
            activity.Dispose();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // its result, a large struct, stays out of the frame of ExecuteAsync
    private ValueTask<object?> ExecuteSingleAsync(HelixConnection connection, HelixDataSource dataSource, Operation operation, CommandBehavior behavior, SqlTextInfo text, bool isWrite, IOBehavior io, CancellationToken cancellationToken)
    {
        var timestamp = text.TimestampParameter is null ? 0 : dataSource.Timestamps.Next();
        if (io != IOBehavior.Synchronous)
        {
            return SingleAsynchronously(connection, dataSource, operation, behavior, text, isWrite, timestamp, cancellationToken);
        }

        var result = RunOnStrand(connection, dataSource.Strands[0], operation, behavior, true, text, timestamp, null, null);
        return new(Finish(in result, isRead: !isWrite));
    }

    /// <summary>A single strand's command through the provider's asynchronous methods (out of line, as <see cref="ReadAsynchronously"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<object?> SingleAsynchronously(HelixConnection connection, HelixDataSource dataSource, Operation operation, CommandBehavior behavior, SqlTextInfo text, bool isWrite, long timestamp, CancellationToken cancellationToken)
    {
        var running = RunOnStrandCoreAsync(connection, dataSource.Strands[0], operation, behavior, true, text, timestamp, null, null, cancellationToken);
        if (!running.IsCompletedSuccessfully)
        {
            return FinishAsync(running, !isWrite);
        }

        var result = running.Result;
        return new(Finish(in result, isRead: !isWrite));

        async ValueTask<object?> FinishAsync(ValueTask<StrandResult> running, bool isRead) => Finish(await running.ConfigureAwait(false), isRead: isRead);
    }

    private ValueTask<object?> ExecuteReadAsync(HelixConnection connection, HelixDataSource dataSource, Operation operation, CommandBehavior behavior, SqlTextInfo text, IOBehavior io, CancellationToken cancellationToken)
    {
        var reads = dataSource.Reads!;
        var timestamp = text.TimestampParameter is null ? 0 : dataSource.Timestamps.Next();
        var first = reads.Pick();
        if (first is null || !first.IsHealthy)
        {
            return ReadWithoutHealthyAsync(connection, dataSource, null, operation, behavior, text, timestamp, io, cancellationToken);
        }

        if (io != IOBehavior.Synchronous)
        {
            return ReadAsynchronously(connection, dataSource, first, operation, behavior, text, timestamp, cancellationToken);
        }

        // The result is a large struct: kept in one place, not copied through a ValueTask or into arguments on the way.
        var result = RunOnStrand(connection, first, operation, behavior, true, text, timestamp, null, null);
        return Answered(reads, in result) ? new(Finish(in result)) : Failover(connection, dataSource, operation, behavior, text, timestamp, in result, io, cancellationToken);
    }

    /// <summary>A read on its first strand through the provider's asynchronous methods (out of line: its results stay out of the synchronous path's frame).</summary>
    /// <remarks>
    /// The steps of <see cref="RunOnStrandCoreAsync"/>, with the result used where it is made: a strand that answers at
    /// once (SQLite, a pooled open) is read without its result being wrapped in a task and copied out again. A step still
    /// under way is handed, with the strand's run, to the same continuations, and <see cref="ReadAfterAsync"/> ends the read.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<object?> ReadAsynchronously(HelixConnection connection, HelixDataSource dataSource, Strand first, Operation operation, CommandBehavior behavior, SqlTextInfo text, long timestamp, CancellationToken cancellationToken)
    {
        DbCommand? inner = null;
        var detach = false;
        var handedOver = false;
        var run = new StrandRun(this, connection, first);
        StrandResult result;
        try
        {
            var opening = connection.GetInnerAsync(first, IOBehavior.Asynchronous, cancellationToken);
            if (!opening.IsCompletedSuccessfully || _prepared)
            {
                handedOver = true;
                return ReadAfterOpening(run, connection, dataSource, opening, operation, behavior, text, timestamp, cancellationToken);
            }

            inner = CreateInnerCommand(opening.Result, first, true, text, timestamp, null, null, out detach);
            var executing = StartExecuting(inner, operation, behavior, cancellationToken);
            if (!executing.IsCompletedSuccessfully)
            {
                handedOver = true;
                return ReadAfterExecuting(run, connection, dataSource, inner, detach, operation, behavior, text, timestamp, executing, cancellationToken);
            }

            result = Succeeded(run, operation, behavior, inner, detach, ResultOf(executing, operation));
        }
        catch (Exception e)
        {
            result = Failed(run, connection, inner, detach, e, cancelled: IsCancellation(e, cancellationToken));
        }
        finally
        {
            if (!handedOver)
            {
                run.Activity?.Dispose();
            }
        }

        return Answered(dataSource.Reads!, in result)
            ? new(Finish(in result))
            : Failover(connection, dataSource, operation, behavior, text, timestamp, in result, IOBehavior.Asynchronous, cancellationToken);
    }

    // The two hand-overs of ReadAsynchronously, out of line for the reason given at OpenThenRunHandedOver.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<object?> ReadAfterOpening(StrandRun run, HelixConnection connection, HelixDataSource dataSource, ValueTask<DbConnection> opening, Operation operation, CommandBehavior behavior, SqlTextInfo text, long timestamp, CancellationToken cancellationToken) =>
        ReadAfterAsync(connection, dataSource, operation, behavior, text, timestamp, OpenThenRunHandedOver(run, connection, opening, operation, behavior, true, text, timestamp, null, null, cancellationToken), cancellationToken);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<object?> ReadAfterExecuting(StrandRun run, HelixConnection connection, HelixDataSource dataSource, DbCommand inner, bool detach, Operation operation, CommandBehavior behavior, SqlTextInfo text, long timestamp, Task executing, CancellationToken cancellationToken) =>
        ReadAfterAsync(connection, dataSource, operation, behavior, text, timestamp, RunAfterHandedOver(run, connection, inner, detach, operation, behavior, executing, cancellationToken), cancellationToken);

    /// <summary>Hands a strand fault to <see cref="FailoverAsync"/> (out of line: the copy of the result it takes is made only on a fault).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<object?> Failover(HelixConnection connection, HelixDataSource dataSource, Operation operation, CommandBehavior behavior, SqlTextInfo text, long timestamp, in StrandResult result, IOBehavior io, CancellationToken cancellationToken) =>
        FailoverAsync(connection, dataSource, operation, behavior, text, timestamp, result, io, cancellationToken);

    /// <summary>The rest of a read whose first strand did not answer at once.</summary>
    private async ValueTask<object?> ReadAfterAsync(HelixConnection connection, HelixDataSource dataSource, Operation operation, CommandBehavior behavior, SqlTextInfo text, long timestamp, ValueTask<StrandResult> running, CancellationToken cancellationToken)
    {
        var result = await running.ConfigureAwait(false);
        return Answered(dataSource.Reads!, result)
            ? Finish(result)
            : await FailoverAsync(connection, dataSource, operation, behavior, text, timestamp, result, IOBehavior.Asynchronous, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A read met a strand fault on its first strand: the policy decides whether it moves to the other.</summary>
    private async ValueTask<object?> FailoverAsync(HelixConnection connection, HelixDataSource dataSource, Operation operation, CommandBehavior behavior, SqlTextInfo text, long timestamp, StrandResult result, IOBehavior io, CancellationToken cancellationToken)
    {
        var reads = dataSource.Reads!;
        var first = result.Strand;
        if (reads.Faulted(first, result.Error!) is not { } second)
        {
            return Finish(result);
        }

        Log.ReadFailover(dataSource.Logger, first.Name, second.Name, result.Error!.Message);
        HelixMetrics.Failovers.Add(1, first.MetricTags);
        _activity?.SetTag("helix.failover", true);
        if (!second.IsHealthy)
        {
            return await ReadWithoutHealthyAsync(connection, dataSource, result, operation, behavior, text, timestamp, io, cancellationToken).ConfigureAwait(false);
        }

        var retry = await RunOnStrandAsync(connection, second, operation, behavior, true, text, timestamp, null, io, cancellationToken).ConfigureAwait(false);
        if (Answered(reads, retry))
        {
            return Finish(retry);
        }

        reads.Faulted(second, retry.Error!);
        throw BothFaulted(dataSource, result, retry);
    }

    /// <summary>Whether the strand answered (a result, or a refusal of the statement), or the caller cancelled: no failover.</summary>
    private static bool Answered(ReadCoordinator reads, in StrandResult result)
    {
        if (result.Succeeded || result.Kind == HelixErrorKind.StatementError)
        {
            reads.Succeeded(result.Strand, result.Elapsed);
            return true;
        }

        return result.Cancelled;
    }


    /// <summary>Returns a successful result to the caller (wrapping readers), or throws the strand's own exception.</summary>
    internal object? Finish(in StrandResult result, Action<HelixDataReader>? onReaderClosed = null, bool isRead = true)
    {
        if (result.Succeeded)
        {
            var strand = result.Strand;
            if (isRead && HelixMetrics.Reads.Enabled)
            {
                HelixMetrics.Reads.Add(1, strand.MetricTags);
            }

            if (_executionStarted is { } started && HelixMetrics.CommandDuration.Enabled)
            {
                var elapsed = strand.Controller.TimeProvider.GetElapsedTime(started);
                HelixMetrics.CommandDuration.Record(elapsed.TotalSeconds, isRead ? strand.ReadTags : strand.WriteTags);
            }

            _activity?.SetTag(HelixMetrics.StrandTag, strand.Name);
        }

        if (!result.Succeeded)
        {
            ExceptionDispatchInfo.Capture(result.Error!).Throw();
        }

        if (result.Outputs is not null)
        {
            ApplyOutputs(result.Outputs);
        }

        _batch?.SetRecordsAffected(result.BatchCounts);
        if (result.Value is DbDataReader reader)
        {
            _readerCommand = (result.Command!, result.Detach, _connection!);
            _connection!.ReaderOpened();
            return HelixDataReader.Create(reader, this, _connection!, result.Strand.Id, result.Behavior, onReaderClosed);
        }

        return result.Value;
    }

    /// <summary>Runs the command on one strand. Never throws: errors come back classified.</summary>
    /// <remarks>
    /// A synchronous call runs <see cref="RunOnStrand"/>, without a state machine; an asynchronous one runs
    /// <see cref="RunOnStrandCoreAsync"/>, whose state machine is pooled: a command that waits on I/O (Npgsql) allocates no
    /// box per await chain. Each of its ValueTasks is awaited exactly once, as pooling requires.
    /// </remarks>
    internal ValueTask<StrandResult> RunOnStrandAsync(
        HelixConnection connection,
        Strand strand,
        Operation operation,
        CommandBehavior behavior,
        bool useOriginals,
        SqlTextInfo text,
        long timestamp,
        DbTransaction? transaction,
        IOBehavior io,
        CancellationToken cancellationToken,
        DbParameter[]? copies = null) =>
        io == IOBehavior.Synchronous
            ? new(RunOnStrand(connection, strand, operation, behavior, useOriginals, text, timestamp, transaction, copies))
            : RunOnStrandCoreAsync(connection, strand, operation, behavior, useOriginals, text, timestamp, transaction, copies, cancellationToken);

    private StrandResult RunOnStrand(HelixConnection connection, Strand strand, Operation operation, CommandBehavior behavior, bool useOriginals, SqlTextInfo text, long timestamp, DbTransaction? transaction, DbParameter[]? copies)
    {
        DbCommand? inner = null;
        var detach = false;
        var run = new StrandRun(this, connection, strand);
        try
        {
            inner = CreateInnerCommand(connection.GetInner(strand), strand, useOriginals, text, timestamp, copies, transaction, out detach);
            if (_prepared)
            {
                inner.Prepare();
            }

            var value = operation switch
            {
                Operation.NonQuery => inner.ExecuteNonQuery(),
                Operation.Scalar => inner.ExecuteScalar(),
                _ => inner.ExecuteReader(behavior & ~CommandBehavior.CloseConnection),
            };

            return Succeeded(run, operation, behavior, inner, detach, value);
        }
        catch (Exception e)
        {
            return Failed(run, connection, inner, detach, e, cancelled: false);
        }
        finally
        {
            run.Activity?.Dispose();
        }
    }

    /// <remarks>
    /// Not an async method: when the provider's calls complete at once (SQLite, a pooled open), the command runs without a
    /// state machine; a call still under way is handed, with the strand's run, to <see cref="OpenThenRunAsync"/> or
    /// <see cref="RunAfterAsync"/>, which end the run.
    /// </remarks>
    private ValueTask<StrandResult> RunOnStrandCoreAsync(HelixConnection connection, Strand strand, Operation operation, CommandBehavior behavior, bool useOriginals, SqlTextInfo text, long timestamp, DbTransaction? transaction, DbParameter[]? copies, CancellationToken cancellationToken)
    {
        DbCommand? inner = null;
        var detach = false;
        var handedOver = false;
        var run = new StrandRun(this, connection, strand);
        try
        {
            var opening = connection.GetInnerAsync(strand, IOBehavior.Asynchronous, cancellationToken);
            if (!opening.IsCompletedSuccessfully || _prepared)
            {
                handedOver = true;
                return OpenThenRunHandedOver(run, connection, opening, operation, behavior, useOriginals, text, timestamp, transaction, copies, cancellationToken);
            }

            inner = CreateInnerCommand(opening.Result, strand, useOriginals, text, timestamp, copies, transaction, out detach);
            var executing = StartExecuting(inner, operation, behavior, cancellationToken);
            if (!executing.IsCompletedSuccessfully)
            {
                handedOver = true;
                return RunAfterHandedOver(run, connection, inner, detach, operation, behavior, executing, cancellationToken);
            }

            return new(Succeeded(run, operation, behavior, inner, detach, ResultOf(executing, operation)));
        }
        catch (Exception e)
        {
            return new(Failed(run, connection, inner, detach, e, cancelled: IsCancellation(e, cancellationToken)));
        }
        finally
        {
            if (!handedOver)
            {
                run.Activity?.Dispose();
            }
        }
    }

    // The hand-overs of a strand's run, out of line: the tasks of results they pass on are large structs, which every call
    // of a method that holds them would clear first.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<StrandResult> OpenThenRunHandedOver(StrandRun run, HelixConnection connection, ValueTask<DbConnection> opening, Operation operation, CommandBehavior behavior, bool useOriginals, SqlTextInfo text, long timestamp, DbTransaction? transaction, DbParameter[]? copies, CancellationToken cancellationToken) =>
        run.HandedOver(OpenThenRunAsync(run, connection, opening, operation, behavior, useOriginals, text, timestamp, transaction, copies, cancellationToken));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<StrandResult> RunAfterHandedOver(StrandRun run, HelixConnection connection, DbCommand inner, bool detach, Operation operation, CommandBehavior behavior, Task executing, CancellationToken cancellationToken) =>
        run.HandedOver(RunAfterAsync(run, connection, inner, detach, operation, behavior, executing, cancellationToken));

    /// <summary>The rest of <see cref="RunOnStrandCoreAsync"/> when the inner connection is still opening (or the command is prepared first).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    [MethodImpl(MethodImplOptions.NoInlining)] // its state machine, a large struct, stays out of the frame of RunOnStrandCoreAsync
    private async ValueTask<StrandResult> OpenThenRunAsync(StrandRun run, HelixConnection connection, ValueTask<DbConnection> opening, Operation operation, CommandBehavior behavior, bool useOriginals, SqlTextInfo text, long timestamp, DbTransaction? transaction, DbParameter[]? copies, CancellationToken cancellationToken)
    {
        DbCommand? inner = null;
        var detach = false;
        Task executing;
        try
        {
            var innerConnection = await opening.ConfigureAwait(false);
            inner = CreateInnerCommand(innerConnection, run.Strand, useOriginals, text, timestamp, copies, transaction, out detach);
            if (_prepared)
            {
                await inner.PrepareAsync(cancellationToken).ConfigureAwait(false);
            }

            executing = StartExecuting(inner, operation, behavior, cancellationToken);
        }
        catch (Exception e)
        {
            var failed = Failed(run, connection, inner, detach, e, cancelled: IsCancellation(e, cancellationToken));
            run.Activity?.Dispose();
            return failed;
        }

        return await RunAfterAsync(run, connection, inner, detach, operation, behavior, executing, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The rest of <see cref="RunOnStrandCoreAsync"/> when the provider's execution is still under way; ends the run.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    [MethodImpl(MethodImplOptions.NoInlining)] // its state machine, a large struct, stays out of the frame of RunOnStrandCoreAsync
    private async ValueTask<StrandResult> RunAfterAsync(StrandRun run, HelixConnection connection, DbCommand inner, bool detach, Operation operation, CommandBehavior behavior, Task executing, CancellationToken cancellationToken)
    {
        try
        {
            await executing.ConfigureAwait(false);
            return Succeeded(run, operation, behavior, inner, detach, ResultOf(executing, operation));
        }
        catch (Exception e)
        {
            return Failed(run, connection, inner, detach, e, cancelled: IsCancellation(e, cancellationToken));
        }
        finally
        {
            run.Activity?.Dispose();
        }
    }

    /// <summary>Starts the provider's asynchronous execution of the inner command.</summary>
    private static Task StartExecuting(DbCommand inner, Operation operation, CommandBehavior behavior, CancellationToken cancellationToken) => operation switch
    {
        Operation.NonQuery => inner.ExecuteNonQueryAsync(cancellationToken),
        Operation.Scalar => inner.ExecuteScalarAsync(cancellationToken),
        _ => inner.ExecuteReaderAsync(behavior & ~CommandBehavior.CloseConnection, cancellationToken),
    };

    /// <summary>The value of a completed <see cref="StartExecuting"/>.</summary>
    private static object? ResultOf(Task executed, Operation operation) => operation switch
    {
        Operation.NonQuery => ((Task<int>)executed).Result,
        Operation.Scalar => ((Task<object?>)executed).Result,
        _ => ((Task<DbDataReader>)executed).Result,
    };

    /// <summary>Whether an error is the caller's cancellation (not a strand fault).</summary>
    private static bool IsCancellation(Exception error, CancellationToken cancellationToken) => CallerCancellation.Is(error, cancellationToken);

    /// <summary>The result of a strand that ran the command: outputs captured and the inner command released, unless it has a reader open.</summary>
    private StrandResult Succeeded(in StrandRun run, Operation operation, CommandBehavior behavior, DbCommand inner, bool detach, object? value)
    {
        var strand = run.Strand;
        var elapsed = run.Elapsed();
        if (run.Timed && HelixMetrics.StrandDuration.Enabled)
        {
            HelixMetrics.StrandDuration.Record(elapsed.TotalSeconds, _executingWrite ? strand.WriteTags : strand.ReadTags);
        }

        if (operation != Operation.Reader)
        {
            var outputs = CaptureOutputs(inner);
            var counts = (inner as BatchAsCommand)?.RecordsAffected();
            Release(inner, detach);
            return StrandResult.Success(strand, value, null, detach, behavior, elapsed, outputs, counts);
        }

        return StrandResult.Success(strand, value, inner, detach, behavior, elapsed);
    }

    /// <summary>The result of a strand that failed: the error classified, the inner command released, a faulted connection dropped.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // rare: its locals stay out of the frame of every command that succeeds
    private StrandResult Failed(in StrandRun run, HelixConnection connection, DbCommand? inner, bool detach, Exception error, bool cancelled)
    {
        var strand = run.Strand;
        ReleaseQuietly(inner, detach);
        HelixActivities.Fail(run.Activity, error);
        if (cancelled)
        {
            return StrandResult.Failure(strand, error, HelixErrorKind.StrandFault, cancelled: true);
        }

        var kind = connection.DataSourceOrThrow.Classifier.Classify(error);
        run.Activity?.SetTag("helix.error.kind", kind == HelixErrorKind.StrandFault ? "strand_fault" : "statement_error");
        if (kind == HelixErrorKind.StrandFault && connection.DataSourceOrThrow.Strands.Length > 1)
        {
            connection.Discard(strand);
        }

        return StrandResult.Failure(strand, error, kind, cancelled: false);
    }

    /// <summary>One strand's part of an execution: its span, and its start when something uses how long it takes.</summary>
    private readonly struct StrandRun
    {
        private readonly long? _started;

        public StrandRun(HelixCommand command, HelixConnection connection, Strand strand)
        {
            Strand = strand;

            // Writes are always timed (the write strategy weighs the strands by it); reads only when something uses it.
            _started = command._executingWrite || HelixMetrics.StrandDuration.Enabled || connection.DataSourceOrThrow.Reads is { UsesElapsed: true }
                ? strand.Controller.TimeProvider.GetTimestamp()
                : null;
            Activity = HelixActivities.StartStrand(strand);
        }

        public Strand Strand { get; }

        public bool Timed => _started is not null;

        public Activity? Activity { get; }

        /// <summary>How long the strand took so far (zero when not timed).</summary>
        public TimeSpan Elapsed() => _started is { } started ? Strand.Controller.TimeProvider.GetElapsedTime(started) : TimeSpan.Zero;

        /// <summary>
        /// Returns the rest of the run, begun in an async method that ends the span: the caller's current activity goes back
        /// to the span's parent, as it would on leaving an async method, so that what the caller starts next (a failover's
        /// try) is not a child of this strand's span.
        /// </summary>
        public ValueTask<StrandResult> HandedOver(ValueTask<StrandResult> rest)
        {
            if (Activity is { } span && System.Diagnostics.Activity.Current == span)
            {
                System.Diagnostics.Activity.Current = span.Parent;
            }

            return rest;
        }
    }

    /// <summary>
    /// The strand's own command for this one, tracked for <see cref="Cancel"/>. Its transaction is set even when it is
    /// none: a provider may give a new command the connection's own (SQLite does), where the plain provider's command
    /// would have none.
    /// </summary>
    private DbCommand CreateInnerCommand(DbConnection connection, Strand strand, bool useOriginals, SqlTextInfo text, long timestamp, DbParameter[]? copies, DbTransaction? transaction, out bool detach)
    {
        if (_batch is not null)
        {
            var batch = _batch.CreateInner(connection, strand, useOriginals, timestamp, _commandTimeout, out detach);
            batch.Transaction = transaction;
            Track(batch);

            return batch;
        }

        var inner = connection.CreateCommand();
        inner.CommandText = _commandText;
        inner.CommandType = _commandType;
        if (_commandTimeout is { } timeout)
        {
            inner.CommandTimeout = timeout;
        }

        detach = false;
        if (copies is not null)
        {
            // Made beforehand by CopyParametersFor, helix_ts included. Not AddRange: providers enumerate the array
            // through an allocated enumerator.
            foreach (var copy in copies)
            {
                inner.Parameters.Add(copy);
            }
        }
        else
        {
            foreach (var parameter in _parameters.Items)
            {
                if (useOriginals && ParameterCopier.IsNative(parameter, strand.Factory))
                {
                    inner.Parameters.Add(parameter);
                    detach = true;
                }
                else
                {
                    inner.Parameters.Add(ParameterCopier.CopyFor(parameter, strand.Factory, ownValue: false));
                }
            }

            if (text.TimestampParameter is not null && TimestampParameter(strand, text, timestamp) is { } stamp)
            {
                inner.Parameters.Add(stamp);
            }
        }

        inner.Transaction = transaction;
        Track(inner);

        return inner;
    }

    /// <summary>
    /// The strand's own copies of this command's parameters (and its <c>helix_ts</c> parameter), made now, for a strand
    /// that runs on another thread while the caller's thread runs the command with the caller's own parameter objects.
    /// </summary>
    internal DbParameter[] CopyParametersFor(Strand strand, SqlTextInfo text, long timestamp)
    {
        var stamp = TimestampParameter(strand, text, timestamp);
        var copies = new DbParameter[_parameters.Count + (stamp is null ? 0 : 1)];
        var items = _parameters.Items;
        for (var i = 0; i < items.Length; i++)
        {
            copies[i] = ParameterCopier.CopyFor(items[i], strand.Factory, ownValue: false);
        }

        if (stamp is not null)
        {
            copies[^1] = stamp;
        }

        return copies;
    }

    /// <summary>The <c>helix_ts</c> parameter for a strand, unless the text does not name it or the caller set it.</summary>
    private DbParameter? TimestampParameter(Strand strand, SqlTextInfo text, long timestamp) =>
        TimestampTemplate(text, timestamp) is { } template ? ParameterCopier.CopyFor(template, strand.Factory, ownValue: false) : null;

    /// <summary>The <c>helix_ts</c> parameter in neutral form, unless the text does not name it or the caller set it.</summary>
    private HelixParameter? TimestampTemplate(SqlTextInfo text, long timestamp) =>
        text.TimestampParameter is { } name && _parameters.IndexOf(name) < 0 ? new HelixParameter(name, timestamp) : null;

    /// <summary>
    /// Reads the output, input-output and return-value parameters a strand set on its own copies; parameters the strand
    /// got as the caller's own objects already hold their values.
    /// </summary>
    private (int Index, object? Value)[]? CaptureOutputs(DbCommand inner)
    {
        // A copy has its original's direction: only parameters that are not input are looked up in the inner command.
        List<(int, object?)>? outputs = null;
        var items = _parameters.Items;
        for (var i = 0; i < items.Length; i++)
        {
            if (items[i].Direction != ParameterDirection.Input && i < inner.Parameters.Count && inner.Parameters[i] is var copy && !ReferenceEquals(copy, items[i]))
            {
                (outputs ??= []).Add((i, copy.Value));
            }
        }

        return outputs?.ToArray();
    }

    private void ApplyOutputs((int Index, object? Value)[]? outputs)
    {
        if (outputs is null)
        {
            return;
        }

        foreach (var (index, value) in outputs)
        {
            if (index < _parameters.Count)
            {
                _parameters.Items[index].Value = value;
            }
        }
    }

    private void Release(DbCommand inner, bool detach)
    {
        Untrack(inner);

        if (detach)
        {
            // The caller's own parameter objects may be used again elsewhere.
            if (inner is BatchAsCommand batch)
            {
                batch.DetachParameters();
            }
            else
            {
                inner.Parameters.Clear();
            }
        }

        inner.Dispose();
    }

    private void ReleaseQuietly(DbCommand? inner, bool detach)
    {
        if (inner is null)
        {
            return;
        }

        try
        {
            Release(inner, detach);
        }
#pragma warning disable CA1031 // the command's own error is what the caller needs to see
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>
    /// What running a command on one strand produced: besides the value or error, how long the strand took (from getting
    /// its connection to the result), the values of output parameters the strand set on its own copies (by parameter
    /// index) and, for a batch, the rows each of its commands affected.
    /// </summary>
    /// <remarks>Every field is set by the constructor, not by initializers: a result is built once, in place, on the read path.</remarks>
    internal readonly record struct StrandResult(
        Strand Strand,
        object? Value,
        Exception? Error,
        HelixErrorKind Kind,
        bool Cancelled,
        DbCommand? Command,
        bool Detach,
        CommandBehavior Behavior,
        TimeSpan Elapsed = default,
        (int Index, object? Value)[]? Outputs = null,
        int[]? BatchCounts = null)
    {
        public bool Succeeded => Error is null;

        public static StrandResult Success(Strand strand, object? value, DbCommand? command, bool detach, CommandBehavior behavior, TimeSpan elapsed, (int Index, object? Value)[]? outputs = null, int[]? batchCounts = null) =>
            new(strand, value, null, default, false, command, detach, behavior, elapsed, outputs, batchCounts);

        public static StrandResult Failure(Strand strand, Exception error, HelixErrorKind kind, bool cancelled) =>
            new(strand, null, error, kind, cancelled, null, false, default);
    }
}

/// <summary>Slots for the inner commands a <see cref="HelixCommand"/> runs at once.</summary>
[System.Runtime.CompilerServices.InlineArray(Length)]
internal struct ActiveCommands
{
    public const int Length = 4;

    private DbCommand? _first;
}

/// <summary>Names of the public methods behind each operation, for messages.</summary>
internal static class OperationNames
{
    public static string MethodName(this HelixCommand.Operation operation) => operation switch
    {
        HelixCommand.Operation.NonQuery => nameof(HelixCommand.ExecuteNonQuery),
        HelixCommand.Operation.Scalar => nameof(HelixCommand.ExecuteScalar),
        _ => nameof(HelixCommand.ExecuteReader),
    };
}
