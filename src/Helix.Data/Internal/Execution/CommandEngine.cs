using System.Runtime.CompilerServices;
using System.Data;
using System.Data.Common;
using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// The execution engine's entry: a classified statement becomes an <see cref="Execution"/> with its span and timestamp,
/// and goes the way its kind and the connection say: into the open transaction, through to the only strand
/// (single-strand mode), to <see cref="WritePath"/> or to <see cref="ReadPath"/>. <see cref="Finish"/> is how every way
/// hands its result back.
/// </summary>
internal static class CommandEngine
{
    /// <remarks>
    /// Not an async method: a read whose strand answers at once runs without a state machine. Errors come back in the
    /// returned task, as they would from an async method; the caller's own cancellation as a canceled one.
    /// </remarks>
    public static ValueTask<object?> ExecuteAsync(IStatement statement, HelixConnection connection, HelixTransaction? transaction, Operation operation, CommandBehavior behavior, SqlTextInfo text, bool isWrite, IOBehavior io, CancellationToken cancellationToken)
    {
        if (!connection.TryStartCommand())
        {
            return Failed(HelixConnection.CommandInProgress(), cancellationToken); // before anything runs
        }

        Activity? activity = null;
        try
        {
            var dataSource = connection.DataSourceOrThrow;
            var dualWrite = isWrite && !dataSource.IsSingleStrand;
            if (!dataSource.IsSingleStrand)
            {
                SessionState.ThrowIfChanged(text, dataSource.CarriesTransactionSettings); // a read too: set_config(..., false) in a SELECT
                if (isWrite && text.NondeterministicCall is { } call)
                {
                    dataSource.NondeterministicWrites.Check(call, statement.CommandText);
                }
                else if (!isWrite && text.LastGeneratedKeyRead is { } key)
                {
                    dataSource.NondeterministicWrites.CheckLastGeneratedKeyRead(key, statement.CommandText);
                }
            }

            if (dualWrite)
            {
                // The rows a write returns are compared across the strands (ReturnedValues): the caller's reader reads each
                // row ahead of the caller, which sequential access (Dapper asks for it) forbids. A write returns few rows.
                behavior &= ~CommandBehavior.SequentialAccess;
            }

            var timestamp = text.TimestampParameter is not null || dualWrite ? dataSource.Timestamps.Next() : 0;
            var started = HelixMetrics.CommandDuration.Enabled ? dataSource.TimeProvider.GetTimestamp() : (long?)null;
            activity = HelixActivities.StartCommand(isWrite, dataSource);
            var execution = new Execution(statement, connection, dataSource, operation, behavior, text, isWrite, timestamp, io, activity, started, cancellationToken);
            var executing = transaction is not null ? transaction.Strands.ExecuteAsync(execution)
                : dataSource.IsSingleStrand ? SingleAsync(in execution)
                : isWrite ? WritePath.ExecuteAsync(execution)
                : ReadPath.Execute(in execution);
            if (executing.IsCompleted && activity is null)
            {
                connection.CommandEnded();
                return executing;
            }

            return EndAsync(executing, connection, activity);
        }
        catch (Exception e)
        {
            connection.CommandEnded();
            HelixActivities.Fail(activity, e);
            activity?.Dispose();
            return Failed(e, cancellationToken);
        }
    }

    /// <summary>A statement that failed before it ran: the caller's own cancellation as a canceled task, as the providers give, not a faulted one.</summary>
    public static ValueTask<object?> Failed(Exception error, CancellationToken cancellationToken) =>
        CallerCancellation.Is(error, cancellationToken) ? ValueTask.FromCanceled<object?>(cancellationToken) : ValueTask.FromException<object?>(error);

    /// <summary>
    /// Returns a successful result to the caller through its statement (wrapping readers), or throws the strand's own
    /// exception. With <paramref name="recordRows"/> a <see cref="HelixDataReader"/> keeps the first rows the caller reads,
    /// for <paramref name="onReaderClosed"/> to compare with another strand's (<see cref="ReturnedValues"/>).
    /// </summary>
    public static object? Finish(in StrandResult result, in Execution execution, bool isRead, Action<DbDataReader>? onReaderClosed = null, bool recordRows = false)
    {
        if (!result.Succeeded)
        {
            ExceptionDispatchInfo.Capture(result.Error!).Throw();
        }

        var strand = result.Strand;
        if (isRead && HelixMetrics.Reads.Enabled)
        {
            HelixMetrics.Reads.Add(1, strand.MetricTags);
        }

        if (execution.Started is { } started && HelixMetrics.CommandDuration.Enabled)
        {
            var elapsed = strand.Controller.TimeProvider.GetElapsedTime(started);
            HelixMetrics.CommandDuration.Record(elapsed.TotalSeconds, isRead ? strand.ReadTags : strand.WriteTags);
        }

        execution.Activity?.SetTag(HelixMetrics.StrandTag, strand.Name);
        var delivered = execution.Statement.Deliver(in result, onReaderClosed);
        if (recordRows && delivered is HelixDataReader reader)
        {
            reader.RecordRows();
        }

        return delivered;
    }

    /// <summary>Single-strand mode: a pure pass-through to the primary.</summary>
    // Out of line: inlined, an async method's state machine (with its copy of the execution) would sit in the
    // caller's frame and be zeroed on every call, taken or not: 1.6 KB in ReadPath.Execute (docs/performance.md).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ValueTask<object?> SingleAsync(in Execution execution)
    {
        var running = StrandRunner.RunAsync(in execution, execution.DataSource.Strands[0]);
        if (!running.IsCompletedSuccessfully)
        {
            return FinishAsync(running, execution);
        }

        var result = running.Result;
        return new(Finish(in result, in execution, isRead: !execution.IsWrite));

        static async ValueTask<object?> FinishAsync(ValueTask<StrandResult> running, Execution execution) =>
            Finish(await running.ConfigureAwait(false), in execution, isRead: !execution.IsWrite);
    }

    /// <summary>Ends the command on its connection, and its span, when the execution ends.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    [MethodImpl(MethodImplOptions.NoInlining)] // out of line, as above
    private static async ValueTask<object?> EndAsync(ValueTask<object?> executing, HelixConnection connection, Activity? activity)
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
            connection.CommandEnded();
            activity?.Dispose();
        }
    }
}
