using System.Data.Common;
using System.Runtime.CompilerServices;
using Helix.Data.Logging;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// <c>Hedge After</c>: an asynchronous read that its strand has not answered in time is sent to the other healthy strand
/// too; the first strand to answer serves it, and the other's command is cancelled and its connection closed (returned to
/// its pool). Only reads outside a transaction, only asynchronous ones (a synchronous caller has one thread to wait on).
/// </summary>
/// <remarks>
/// Not Polly's hedging strategy: each attempt must run on a connection of its own strand (the hedged one on a pooled
/// connection it opens, so that a loser still running after the read returned never shares a connection with the
/// caller's next command), a fault of one attempt must leave the other running, and a loser's reader and command must be
/// released whenever it ends. That is this class; the rest of the read (failover, retries) is <see cref="ReadPath"/>'s.
/// </remarks>
internal sealed class ReadHedging
{
    /// <summary>The least delay: a timer shorter than a millisecond fires at once, which would hedge every read.</summary>
    private static readonly TimeSpan Floor = TimeSpan.FromMilliseconds(1);

    private readonly TimeSpan? _after;
    private readonly LatencyWindow[]? _recent;

    private ReadHedging(TimeSpan? after, int strands)
    {
        _after = after;
        _recent = after is null ? [.. Enumerable.Range(0, strands).Select(_ => new LatencyWindow())] : null;
    }

    /// <summary>Gets a value indicating whether the delay follows each strand's recent reads (<c>Hedge After=Auto</c>).</summary>
    public bool IsAuto => _recent is not null;

    /// <summary>The hedging a <c>Hedge After</c> value asks for: none when <c>Off</c> or with a single strand.</summary>
    public static ReadHedging? From(string hedgeAfter, int strands) => hedgeAfter switch
    {
        _ when strands < 2 => null,
        "Off" => null,
        "Auto" => new ReadHedging(null, strands),
        _ => new ReadHedging(TimeSpan.FromMilliseconds(int.Parse(hedgeAfter, System.Globalization.CultureInfo.InvariantCulture)), strands),
    };

    /// <summary>Notes how long a read the strand answered took (for <c>Auto</c>).</summary>
    public void Observe(Strand strand, TimeSpan elapsed) => _recent?[strand.Index].Add(elapsed);

    /// <summary>How long a read on the strand runs before it is hedged; <see langword="null"/> while <c>Auto</c> has too few reads to tell.</summary>
    public TimeSpan? DelayFor(Strand strand) =>
        _after ?? (_recent![strand.Index].Percentile95 is { } p95 ? (p95 > Floor ? p95 : Floor) : null);

    /// <summary>
    /// Runs a read on <paramref name="first"/>; if it has not answered after <paramref name="delay"/> and
    /// <paramref name="second"/> is still healthy, on <paramref name="second"/> too. Returns the first answer; a fault of
    /// one attempt waits for the other, and faults on both fail the read as a read failed on both strands does.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // never in the frame of an unhedged read
    public static async ValueTask<object?> ReadAsync(Execution execution, Strand first, Strand second, TimeSpan delay)
    {
        var dataSource = execution.DataSource;
        Attempt one;
        using (var timer = CancellationTokenSource.CreateLinkedTokenSource(execution.CancellationToken))
        {
            var due = Task.Delay(delay, dataSource.TimeProvider, timer.Token); // set before the read starts: it counts from there
            one = Attempt.Start(in execution, first, ownConnection: false);
            await Task.WhenAny(one.Running, due).ConfigureAwait(false);
            await timer.CancelAsync().ConfigureAwait(false);
        }

        if (one.Running.IsCompleted || !second.IsHealthy || execution.CancellationToken.IsCancellationRequested)
        {
            var result = await one.EndAsync().ConfigureAwait(false);
            ThrowIfCallerCancelled(in result, in execution);
            return await ReadPath.ContinueAsync(execution, result).ConfigureAwait(false);
        }

        Log.ReadHedged(dataSource.Logger, first.Name, delay.TotalMilliseconds, second.Name);
        HelixMetrics.HedgesStarted.Add(1, first.MetricTags);
        execution.Activity?.SetTag("helix.hedged", true);
        var two = Attempt.Start(in execution, second, ownConnection: true);
        var (winner, loser) = await Task.WhenAny(one.Running, two.Running).ConfigureAwait(false) == one.Running ? (one, two) : (two, one);
        var won = await winner.Running.ConfigureAwait(false);
        if (!ReadPath.Answered(dataSource.Reads!, in won))
        {
            // A fault ended one attempt: the other may still answer.
            dataSource.Reads!.Faulted(in won);
            (winner, loser) = (loser, winner);
            won = await winner.Running.ConfigureAwait(false);
            if (!ReadPath.Answered(dataSource.Reads!, in won))
            {
                dataSource.Reads!.Faulted(in won);
                var lost = await loser.Running.ConfigureAwait(false);
                winner.Release(in won);
                loser.Release(in lost);
                throw ReadPath.BothFaulted(dataSource, lost, won);
            }
        }

        loser.Abandon(execution.Connection);
        if (winner == two)
        {
            HelixMetrics.HedgesWon.Add(1, second.MetricTags);
        }

        return winner.Deliver(in won, in execution);
    }

    /// <summary>An attempt cancelled because the caller cancelled saw its own token: the caller gets a cancellation of theirs, as from an unhedged read.</summary>
    private static void ThrowIfCallerCancelled(in StrandResult result, in Execution execution)
    {
        if (result.Cancelled && execution.CancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(result.Error!.Message, result.Error, execution.CancellationToken);
        }
    }

    /// <summary>One strand's attempt at a hedged read, under a token of its own so that the race can cancel it alone.</summary>
    private sealed class Attempt
    {
        private readonly CancellationTokenSource _cancel;
        private readonly Execution _execution;
        private readonly Strand _strand;
        private DbConnection? _own;

        private Attempt(in Execution execution, Strand strand, bool ownConnection)
        {
            _strand = strand;
            _cancel = CancellationTokenSource.CreateLinkedTokenSource(execution.CancellationToken);
            _execution = execution.WithCancellation(_cancel.Token);
            Running = ownConnection ? RunOnOwnConnectionAsync(strand) : StrandRunner.RunAsync(in _execution, strand, useOriginals: false).AsTask();
        }

        /// <summary>Gets the attempt; it never throws (errors are in its result).</summary>
        public Task<StrandResult> Running { get; }

        /// <summary>Starts an attempt; the caller's parameter objects stay with the caller (each attempt runs on copies).</summary>
        public static Attempt Start(in Execution execution, Strand strand, bool ownConnection) => new(in execution, strand, ownConnection);

        /// <summary>The attempt's result when it is the only one: its token is no longer needed.</summary>
        public async ValueTask<StrandResult> EndAsync()
        {
            var result = await Running.ConfigureAwait(false);
            _cancel.Dispose();
            return result;
        }

        /// <summary>Returns the winning result to the caller; a reader on the attempt's own connection closes that connection with it.</summary>
        public object? Deliver(in StrandResult result, in Execution execution)
        {
            _cancel.Dispose();
            if (result.Cancelled)
            {
                _own?.Dispose();
                ThrowIfCallerCancelled(in result, in execution);
            }

            if (_own is not { } own)
            {
                return CommandEngine.Finish(in result, in execution, isRead: true);
            }

            if (result.Value is DbDataReader && result.Succeeded)
            {
                return CommandEngine.Finish(in result, in execution, isRead: true, onReaderClosed: _ => own.Dispose());
            }

            try
            {
                return CommandEngine.Finish(in result, in execution, isRead: true);
            }
            finally
            {
                own.Dispose();
            }
        }

        /// <summary>
        /// The attempt lost: it is cancelled, and released once it ends. Still running on the caller's inner connection, it
        /// takes that connection with it (the caller's connection opens a fresh one when it needs the strand again).
        /// </summary>
        public void Abandon(HelixConnection connection)
        {
            // Its callbacks run on the thread pool: a provider's cancellation (Npgsql sends a cancel request to the
            // server) must not hold up the answer the caller is waiting for.
            _ = _cancel.CancelAsync();
            if (Running.IsCompleted)
            {
                Release(Running.Result);
                return;
            }

            _ = ReleaseWhenEndedAsync(_own is null ? connection.Detach(_strand) : null);
        }

        /// <summary>Releases what a result holds that nobody will read: its reader and inner command, and the attempt's own connection.</summary>
        public void Release(in StrandResult result)
        {
            if (result.Succeeded && result.Value is DbDataReader reader)
            {
                reader.Dispose();
                _execution.Statement.Release(result.Command!, result.Detach);
            }

            _own?.Dispose();
            _cancel.Dispose();
        }

        private async Task ReleaseWhenEndedAsync(DbConnection? taken)
        {
            var result = await Running.ConfigureAwait(false);
            Release(in result);
            if (taken is not null)
            {
                await taken.DisposeAsync().ConfigureAwait(false);
            }
        }

        private async Task<StrandResult> RunOnOwnConnectionAsync(Strand strand)
        {
            try
            {
                _own = await _execution.Connection.OpenOwnInnerAsync(strand, _execution.CancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                var cancelled = CallerCancellation.Is(e, _execution.CancellationToken);
                return StrandResult.Failure(strand, e, cancelled ? HelixErrorKind.StrandFault : _execution.DataSource.Classifier.Classify(e), cancelled, mayHaveApplied: false);
            }

            return await StrandRunner.RunAsync(in _execution, strand, useOriginals: false, connection: _own).ConfigureAwait(false);
        }
    }
}
