using System.Data;
using System.Data.Common;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// Runs a statement on one strand: gets the strand's inner connection, makes the inner command, prepares it when asked,
/// executes it, and classifies what happened. It never throws: errors come back in the <see cref="StrandResult"/>.
/// </summary>
/// <remarks>
/// One body serves synchronous and asynchronous calls, branching only at the provider calls. It is not an async method:
/// when the provider's calls complete at once (any synchronous call, SQLite's asynchronous ones, a pooled open), the run
/// completes without a state machine; a call still under way is handed to <see cref="OpenThenRunAsync"/> or
/// <see cref="RunAfterAsync"/>, which end the run.
/// </remarks>
internal static class StrandRunner
{
    /// <summary>
    /// Runs the statement on <paramref name="strand"/>, on the connection's inner connection to it, or on
    /// <paramref name="connection"/> when given (a hedged read's own pooled connection).
    /// </summary>
    /// <remarks>
    /// A strand with an application pipeline (<c>UseStrandPipeline</c>) runs the statement through it; the pipeline calls
    /// back here with an execution marked as inside it. This check and the flag it reads cost a SQLite read about 100
    /// instructions (0.15 %); a second method around this one cost it 150 to 370 (eng/instructions.sh).
    /// </remarks>
    public static ValueTask<StrandResult> RunAsync(in Execution execution, Strand strand, bool useOriginals = true, DbTransaction? transaction = null, DbParameter[]? copies = null, DbConnection? connection = null)
    {
        if (strand.Pipeline is not null && !execution.InsidePipeline)
        {
            return StrandPipeline.RunAsync(new(execution, strand, useOriginals, transaction, copies, connection));
        }

        DbCommand? inner = null;
        var detach = false;
        var handedOver = false;
        var run = new StrandRun(in execution, strand);
        try
        {
            var opening = connection is null ? execution.Connection.GetInnerAsync(strand, execution.Io, execution.CancellationToken) : new(connection);
            if (!opening.IsCompletedSuccessfully || (execution.Statement.Prepared && execution.Io == IOBehavior.Asynchronous))
            {
                handedOver = true;
                return run.HandedOver(OpenThenRunAsync(execution, run, opening, useOriginals, transaction, copies));
            }

            inner = execution.Statement.CreateInner(opening.Result, strand, useOriginals, in execution, copies, transaction, out detach);
            if (execution.Io == IOBehavior.Synchronous)
            {
                return new(Succeeded(in execution, in run, inner, detach, ExecuteNow(in execution, inner)));
            }

            var executing = StartExecuting(inner, execution.Operation, execution.Behavior, execution.CancellationToken);
            if (!executing.IsCompletedSuccessfully)
            {
                handedOver = true;
                return run.HandedOver(RunAfterAsync(execution, run, inner, detach, executing));
            }

            return new(Succeeded(in execution, in run, inner, detach, ResultOf(executing, execution.Operation)));
        }
        catch (Exception e)
        {
            return new(Failed(in execution, in run, inner, detach, e));
        }
        finally
        {
            if (!handedOver)
            {
                run.Activity?.Dispose();
            }
        }
    }

    /// <summary>The rest of a run whose inner connection is still opening (or whose command is prepared first); ends the run.</summary>
    // Out of line: inlined, an async method's state machine (with its copy of the execution) would sit in the
    // caller's frame and be zeroed on every call, taken or not: 1.6 KB in ReadPath.Execute (docs/performance.md).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async ValueTask<StrandResult> OpenThenRunAsync(Execution execution, StrandRun run, ValueTask<DbConnection> opening, bool useOriginals, DbTransaction? transaction, DbParameter[]? copies)
    {
        DbCommand? inner = null;
        var detach = false;
        Task executing;
        try
        {
            var connection = await opening.ConfigureAwait(false);
            inner = execution.Statement.CreateInner(connection, run.Strand, useOriginals, in execution, copies, transaction, out detach);
            if (execution.Io == IOBehavior.Synchronous)
            {
                var value = ExecuteNow(in execution, inner);
                run.Activity?.Dispose();
                return Succeeded(in execution, in run, inner, detach, value);
            }

            if (execution.Statement.Prepared)
            {
                await inner.PrepareAsync(execution.CancellationToken).ConfigureAwait(false);
            }

            executing = StartExecuting(inner, execution.Operation, execution.Behavior, execution.CancellationToken);
        }
        catch (Exception e)
        {
            var failed = Failed(in execution, in run, inner, detach, e);
            run.Activity?.Dispose();
            return failed;
        }

        return await RunAfterAsync(execution, run, inner, detach, executing).ConfigureAwait(false);
    }

    /// <summary>The rest of a run whose provider execution is still under way; ends the run.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    [MethodImpl(MethodImplOptions.NoInlining)] // out of line, as above
    private static async ValueTask<StrandResult> RunAfterAsync(Execution execution, StrandRun run, DbCommand inner, bool detach, Task executing)
    {
        try
        {
            await executing.ConfigureAwait(false);
            return Succeeded(in execution, in run, inner, detach, ResultOf(executing, execution.Operation));
        }
        catch (Exception e)
        {
            return Failed(in execution, in run, inner, detach, e);
        }
        finally
        {
            run.Activity?.Dispose();
        }
    }

    /// <summary>Runs the inner command through the provider's synchronous methods, prepared first when the statement was.</summary>
    private static object? ExecuteNow(in Execution execution, DbCommand inner)
    {
        if (execution.Statement.Prepared)
        {
            inner.Prepare();
        }

        return execution.Operation switch
        {
            Operation.NonQuery => inner.ExecuteNonQuery(),
            Operation.Scalar => inner.ExecuteScalar(),
            _ => inner.ExecuteReader(execution.Behavior & ~CommandBehavior.CloseConnection),
        };
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

    /// <summary>The result of a strand that ran the statement: outputs captured and the inner command released, unless a reader is open on it.</summary>
    private static StrandResult Succeeded(in Execution execution, in StrandRun run, DbCommand inner, bool detach, object? value)
    {
        var strand = run.Strand;
        var elapsed = run.Elapsed();
        if (run.Timed && HelixMetrics.StrandDuration.Enabled)
        {
            HelixMetrics.StrandDuration.Record(elapsed.TotalSeconds, execution.IsWrite ? strand.WriteTags : strand.ReadTags);
        }

        if (execution.Operation != Operation.Reader)
        {
            var (outputs, counts) = execution.Statement.CaptureOutputs(inner);
            execution.Statement.Release(inner, detach);
            return StrandResult.Success(strand, value, null, detach, execution.Behavior, elapsed, outputs, counts);
        }

        return StrandResult.Success(strand, value, inner, detach, execution.Behavior, elapsed);
    }

    /// <summary>
    /// The result of a strand that failed: the error classified, the inner command released, a faulted connection dropped
    /// (not one whose server ended the statement itself: it is whole).
    /// With an inner command made, the statement may have reached the server: its outcome is in doubt, unless the server
    /// ended it itself and said so.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // rare: its locals stay out of the frame of every run that succeeds
    private static StrandResult Failed(in Execution execution, in StrandRun run, DbCommand? inner, bool detach, Exception error)
    {
        var strand = run.Strand;
        var survived = inner?.Connection?.State == ConnectionState.Open; // read before the command is released
        ReleaseQuietly(execution.Statement, inner, detach);
        HelixActivities.Fail(run.Activity, error);
        if (CallerCancellation.Is(error, execution.CancellationToken))
        {
            return StrandResult.Failure(strand, error, HelixErrorKind.StrandFault, cancelled: true, mayHaveApplied: inner is not null);
        }

        var kind = execution.DataSource.Classifier.Classify(error);
        run.Activity?.SetTag("helix.error.kind", kind == HelixErrorKind.StrandFault ? "strand_fault" : "statement_error");
        var serverEnded = kind == HelixErrorKind.StrandFault && survived && execution.DataSource.Classifier.ServerEndedStatement(error);
        if (kind == HelixErrorKind.StrandFault && !serverEnded && !execution.DataSource.IsSingleStrand)
        {
            // A connection the server ended a statement on is whole (and may hold the caller's transaction): it stays.
            execution.Connection.Discard(strand, inner?.Connection);
        }

        return StrandResult.Failure(strand, error, kind, cancelled: false, mayHaveApplied: inner is not null, serverEnded, serverEnded && StrandRetry.IsOneStatement(execution.Statement));
    }

    /// <summary>Releases an inner command after a failure: the statement's own error is what the caller needs to see.</summary>
    public static void ReleaseQuietly(IStatement statement, DbCommand? inner, bool detach)
    {
        if (inner is null)
        {
            return;
        }

        try
        {
            statement.Release(inner, detach);
        }
#pragma warning disable CA1031 // the statement's own error is what the caller needs to see
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>One strand's part of an execution: its span, and its start when something uses how long it takes.</summary>
    private readonly struct StrandRun
    {
        private readonly long? _started;

        public StrandRun(in Execution execution, Strand strand)
        {
            Strand = strand;

            // Writes are always timed (the write strategy weighs the strands by it); reads only when something uses it.
            _started = execution.IsWrite || HelixMetrics.StrandDuration.Enabled || execution.DataSource.Reads is { UsesElapsed: true }
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
}
