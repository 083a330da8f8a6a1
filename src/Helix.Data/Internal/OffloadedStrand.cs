using System.Data;
using System.Data.Common;
using System.Threading.Tasks.Sources;

namespace Helix.Data.Internal;

/// <summary>
/// One strand's part of a concurrent write, offered to the thread pool while the caller's thread runs the other strand
/// (contract amendment 14). Whoever takes it first runs it: a pool thread, at once, or the caller itself once its own
/// strand is done. The caller therefore never waits for the pool to find a thread: at worst the two strands run one
/// after the other on the caller's thread, as they would without the offer.
/// </summary>
/// <remarks>
/// Used where the strands would otherwise not overlap: synchronous calls, and asynchronous calls to a provider whose
/// asynchronous methods complete on the calling thread (Microsoft.Data.Sqlite). A provider with asynchronous I/O
/// (Npgsql) already overlaps its strands on one thread and is not offered to the pool.
/// </remarks>
internal sealed class OffloadedStrand : IValueTaskSource<HelixCommand.StrandResult>, IThreadPoolWorkItem
{
    private readonly HelixCommand _command;
    private readonly HelixConnection _connection;
    private readonly Strand _strand;
    private readonly HelixCommand.Operation _operation;
    private readonly CommandBehavior _behavior;
    private readonly SqlTextInfo _text;
    private readonly long _timestamp;
    private readonly IOBehavior _io;
    private readonly CancellationToken _cancellationToken;

    // Made on the caller's thread before its own strand runs: the caller's parameter objects, which the first strand
    // may be given as they are, are never read while a provider uses them.
    private readonly DbParameter[] _copies;

    // The caller's execution context (its Activity, logging scopes), which the pool thread runs the strand in.
    private readonly ExecutionContext? _context = ExecutionContext.Capture();

    // 0 while offered; 1 once a pool thread or the caller took it.
    private int _taken;

    // What a synchronous caller waits on for the pool thread's result (a monitor of its own: nobody else can lock it).
    private readonly object _gate = new();

    // How the caller waits for a pool thread that took it: a monitor when synchronous, this source when asynchronous.
    private ManualResetValueTaskSourceCore<HelixCommand.StrandResult> _completion;
    private HelixCommand.StrandResult _result;
    private bool _completed;

    private OffloadedStrand(HelixCommand command, HelixConnection connection, Strand strand, HelixCommand.Operation operation, CommandBehavior behavior, SqlTextInfo text, long timestamp, IOBehavior io, CancellationToken cancellationToken)
    {
        _command = command;
        _connection = connection;
        _strand = strand;
        _operation = operation;
        _behavior = behavior;
        _text = text;
        _timestamp = timestamp;
        _io = io;
        _cancellationToken = cancellationToken;
        _copies = command.CopyParametersFor(strand, text, timestamp);
    }

    /// <summary>
    /// Offers a strand's part of a write to the thread pool; the caller's execution context goes with it. Unless
    /// <paramref name="toThreadPool"/> is false: tests pass that to stand for a pool that never gets to it.
    /// </summary>
    public static OffloadedStrand Offer(HelixCommand command, HelixConnection connection, Strand strand, HelixCommand.Operation operation, CommandBehavior behavior, SqlTextInfo text, long timestamp, IOBehavior io, bool toThreadPool, CancellationToken cancellationToken)
    {
        var offered = new OffloadedStrand(command, connection, strand, operation, behavior, text, timestamp, io, cancellationToken);
        if (toThreadPool)
        {
            ThreadPool.UnsafeQueueUserWorkItem(offered, preferLocal: false);
        }

        return offered;
    }

    /// <summary>
    /// The strand's result: runs it on the caller's thread if no pool thread has taken it yet, else waits for the pool
    /// thread that did. Synchronous calls get a completed task.
    /// </summary>
    public ValueTask<HelixCommand.StrandResult> JoinAsync()
    {
        if (Interlocked.Exchange(ref _taken, 1) == 0)
        {
            return Run();
        }

        if (_io == IOBehavior.Synchronous)
        {
            // The pool thread started at about the time the caller did, so it is often about to finish: spin a little
            // (as ManualResetEventSlim does) before sleeping, which costs a context switch each way.
            var spinner = default(SpinWait);
            while (!Volatile.Read(ref _completed) && !spinner.NextSpinWillYield)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }

            lock (_gate)
            {
                while (!_completed)
                {
                    Monitor.Wait(_gate);
                }
            }

            return new ValueTask<HelixCommand.StrandResult>(_result);
        }

        return new ValueTask<HelixCommand.StrandResult>(this, _completion.Version);
    }

    private ValueTask<HelixCommand.StrandResult> Run() =>
        _command.RunOnStrandAsync(_connection, _strand, _operation, _behavior, useOriginals: false, _text, _timestamp, transaction: null, _io, _cancellationToken, _copies);

    /// <summary>Runs on a pool thread, in the caller's execution context.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        if (_context is null)
        {
            RunOnPoolThread();
            return;
        }

        ExecutionContext.Run(_context, static offered => ((OffloadedStrand)offered!).RunOnPoolThread(), this);
    }

    private void RunOnPoolThread()
    {
        if (Interlocked.Exchange(ref _taken, 1) == 0)
        {
            _ = RunAndDeliverAsync(); // completes synchronously unless the provider waits on I/O
        }
    }

    // A pooled ValueTask may be consumed once: its result is taken by this await, never read again.
    private async Task RunAndDeliverAsync()
    {
        HelixCommand.StrandResult result;
        try
        {
            result = await Run().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // RunOnStrandAsync classifies errors into its result; anything else goes to the caller
        catch (Exception e)
#pragma warning restore CA1031
        {
            Fail(e);
            return;
        }

        Deliver(result);
    }

    // Never expected (RunOnStrandAsync returns errors as results); the strand then counts as faulted.
    private void Fail(Exception error) => Deliver(HelixCommand.StrandResult.Failure(_strand, error, HelixErrorKind.StrandFault, cancelled: false));

    private void Deliver(HelixCommand.StrandResult result)
    {
        if (_io == IOBehavior.Asynchronous)
        {
            _completion.SetResult(result);
            return;
        }

        lock (_gate)
        {
            _result = result;
            Volatile.Write(ref _completed, true);
            Monitor.PulseAll(_gate);
        }
    }

    HelixCommand.StrandResult IValueTaskSource<HelixCommand.StrandResult>.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<HelixCommand.StrandResult>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<HelixCommand.StrandResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);
}
