using System.Data.Common;
using System.Threading.Tasks.Sources;

namespace Helix.Data.Internal.Execution;

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
internal sealed class OffloadedStrand : IValueTaskSource<StrandResult>, IThreadPoolWorkItem
{
    private readonly Execution _execution;
    private readonly Strand _strand;

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
    private ManualResetValueTaskSourceCore<StrandResult> _completion;
    private StrandResult _result;
    private bool _completed;

    private OffloadedStrand(in Execution execution, Strand strand)
    {
        _execution = execution;
        _strand = strand;
        _copies = execution.Statement.CopyParametersFor(strand, in execution);
    }

    /// <summary>
    /// Offers a strand's part of a write to the thread pool; the caller's execution context goes with it. Unless
    /// <paramref name="toThreadPool"/> is false: tests pass that to stand for a pool that never gets to it.
    /// </summary>
    public static OffloadedStrand Offer(in Execution execution, Strand strand, bool toThreadPool)
    {
        var offered = new OffloadedStrand(in execution, strand);
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
    public ValueTask<StrandResult> JoinAsync()
    {
        if (Interlocked.Exchange(ref _taken, 1) == 0)
        {
            return Run();
        }

        if (_execution.Io == IOBehavior.Synchronous)
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

            return new ValueTask<StrandResult>(_result);
        }

        return new ValueTask<StrandResult>(this, _completion.Version);
    }

    private ValueTask<StrandResult> Run() => StrandRunner.RunAsync(in _execution, _strand, useOriginals: false, transaction: null, _copies);

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
        StrandResult result;
        try
        {
            result = await Run().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // StrandRunner.RunAsync classifies errors into its result; anything else goes to the caller
        catch (Exception e)
#pragma warning restore CA1031
        {
            Fail(e);
            return;
        }

        Deliver(result);
    }

    // Never expected (StrandRunner.RunAsync returns errors as results); the strand then counts as faulted, and as having
    // perhaps applied the statement: nothing says it did not.
    private void Fail(Exception error) => Deliver(StrandResult.Failure(_strand, error, HelixErrorKind.StrandFault, cancelled: false, mayHaveApplied: true));

    private void Deliver(StrandResult result)
    {
        if (_execution.Io == IOBehavior.Asynchronous)
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

    StrandResult IValueTaskSource<StrandResult>.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<StrandResult>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<StrandResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);
}
