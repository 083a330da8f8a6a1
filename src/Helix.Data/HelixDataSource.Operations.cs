using Helix.Data.Logging;
using Helix.Data.Strategies;

namespace Helix.Data;

/// <content>
/// What an operator does with a running data source: its status, waiting for replay, draining and undraining a strand,
/// and resynchronising one that went out of sync.
/// </content>
public sealed partial class HelixDataSource
{
    /// <summary>Returns a snapshot of each strand's state and backlog.</summary>
    /// <returns>The snapshot.</returns>
    public HelixDataSourceStatus GetStatus() => new(
        [.. Strands.Select(s => s.Controller.Snapshot(s.Name) with { Circuit = Reads?.Policy.GetCircuitState(s.Id) ?? HelixCircuitState.Closed })],
        _worker?.Applied ?? 0,
        Reporter.DeadLetteredCount,
        Reporter.DroppedCount,
        Reporter.Divergences);

    /// <summary>
    /// Waits until every strand is healthy and no replay entry waits: the strands hold the same writes. A strand that is
    /// down or drained keeps this waiting; pass a token with a timeout.
    /// </summary>
    /// <param name="cancellationToken">A token to stop waiting.</param>
    /// <returns>A task that completes when the strands have converged.</returns>
    public async Task WaitForReplayAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ThrowIfDisposed();
            var changes = Strands.Select(s => s.Controller.Changed).ToArray();
            if (GetStatus().IsConverged)
            {
                return;
            }

            await Task.WhenAny(changes).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Takes a strand out of service: its writes are queued for replay (not applied) and reads avoid it, until
    /// <see cref="Undrain"/>.
    /// </summary>
    /// <param name="strand">The strand.</param>
    /// <param name="reason">Why, for logs and the status.</param>
    /// <remarks>A strand out of sync or being resynchronised stays as it is (a warning is logged).</remarks>
    public void Drain(HelixStrand strand, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var target = GetStrand(strand);
        if (!target.Controller.Drain(reason))
        {
            Log.DrainIgnored(Logger, target.Name, target.State);
        }
    }

    /// <summary>
    /// Defers a healthy strand by hand, as the Adaptive write strategy does by itself with a slow strand: its writes are
    /// queued and the worker applies them as they come, so callers stop waiting for it; reads avoid it; it stays
    /// <see cref="HelixStrandState.CatchingUp"/> until <see cref="Undefer"/> (the write strategy cannot end it). The
    /// deferral ends by itself when the other strand leaves Healthy: one strand always takes writes directly.
    /// </summary>
    /// <param name="strand">The strand to defer.</param>
    /// <param name="reason">Why, for logs and the status.</param>
    /// <exception cref="InvalidOperationException">The strand cannot be deferred: it or the other strand is not healthy, the other is deferred, there is no replay queue, or there is no other strand.</exception>
    public void Defer(HelixStrand strand, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var target = GetStrand(strand);
        if (StrandView is null || !StrandView.Defer(strand, reason, byOperator: true))
        {
            var other = Strands.Length < 2 ? null : Strands[1 - target.Index];
            throw new InvalidOperationException(other is null
                ? $"Strand {target.Name} cannot be deferred: there is no other strand to take the writes directly."
                : $"Strand {target.Name} cannot be deferred: it is {target.State}, strand {other.Name} is {other.State}{(other.Controller.IsDeferred ? " and deferred" : string.Empty)}; a deferral needs both healthy, the other not deferred, and a replay queue.");
        }
    }

    /// <summary>Ends a deferral (an operator's or the write strategy's): the strand heals once the worker has applied its backlog.</summary>
    /// <param name="strand">The strand.</param>
    public void Undefer(HelixStrand strand)
    {
        _ = GetStrand(strand);
        StrandView?.Resume(strand, "an operator ended the deferral");
    }

    /// <summary>Returns a drained strand to service: the worker applies what it missed, then it is healthy again.</summary>
    /// <param name="strand">The strand.</param>
    /// <remarks>A resynchronisation is not ended by an undrain: see <see cref="CompleteResync"/>.</remarks>
    public void Undrain(HelixStrand strand) => GetStrand(strand).Controller.Undrain();

    /// <summary>
    /// Starts bringing back a strand that is <see cref="HelixStrandState.OutOfSync"/>. From now on its writes are queued
    /// again (it is Draining: the worker applies nothing yet, reads avoid it), and the backlog it had is discarded. The
    /// returned task completes once every write that went past the strand has settled: then copy the data from the other
    /// strand onto it (a dump and restore, or any copy that starts after this call returns), and call
    /// <see cref="CompleteResync"/>. Writes made during the copy are applied again afterwards from the queue, which writes
    /// guarded by <c>helix_ts</c> make harmless.
    /// </summary>
    /// <param name="strand">The strand out of sync.</param>
    /// <param name="cancellationToken">Stops waiting for the writes in flight (the strand stays in resynchronisation).</param>
    /// <returns>A task that completes when the copy may start.</returns>
    /// <exception cref="InvalidOperationException">The strand is not out of sync.</exception>
    /// <remarks>The state is this data source's: in a fleet, each process that saw the strand leave service is told.</remarks>
    public async Task BeginResyncAsync(HelixStrand strand, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var target = GetStrand(strand);
        if (target.State != HelixStrandState.OutOfSync)
        {
            throw new InvalidOperationException($"Strand {target.Name} is {target.State}, not {HelixStrandState.OutOfSync}: only a strand out of sync is resynchronised.");
        }

        // The old backlog goes first, while nothing is queued for the strand, so that a queue full of it does not take the
        // strand out of service again as soon as writes are queued for it once more.
        long discarded = 0;
        if (ReplayQueue is { } queue)
        {
            try
            {
                discarded = await queue.DiscardBacklogAsync(strand, cancellationToken).ConfigureAwait(false);
            }
            catch (NotSupportedException)
            {
                // The entries stay: the worker applies them after the copy, which harms nothing but time.
            }
        }

        await target.Controller.BeginResync("begun by an operator").WaitAsync(cancellationToken).ConfigureAwait(false);
        Log.ResyncBegun(Logger, target.Name, discarded);
    }

    /// <summary>
    /// Ends a resynchronisation begun with <see cref="BeginResyncAsync"/> once the copy is done: the strand catches up
    /// with the writes queued meanwhile, then takes writes and reads again. Called on a strand still
    /// <see cref="HelixStrandState.OutOfSync"/> (no <see cref="BeginResyncAsync"/>), it is right only for a copy made while
    /// nothing was written.
    /// </summary>
    /// <param name="strand">The strand.</param>
    /// <exception cref="InvalidOperationException">The strand is neither being resynchronised nor out of sync.</exception>
    public void CompleteResync(HelixStrand strand)
    {
        ThrowIfDisposed();
        var target = GetStrand(strand);
        target.Controller.CompleteResync();
        Log.ResyncCompleted(Logger, target.Name);
    }

    /// <summary>
    /// Gets the replay queue once it is open: a durable queue (<c>file:</c>, <c>nats://</c>) opens in the background when
    /// the data source is built, and lists its backlog and dead letters only then. An operator's tool awaits this before
    /// it reads the queue.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (a NATS server that does not answer keeps the queue closed).</param>
    /// <returns>The open queue.</returns>
    /// <exception cref="InvalidOperationException">The data source has no replay queue.</exception>
    public async ValueTask<Replay.HelixReplayQueue> OpenReplayQueueAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var queue = ReplayQueue ?? throw new InvalidOperationException("The data source has no replay queue (Replay=None, or single-strand mode).");
        if (_worker is not null)
        {
            await _worker.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return queue;
    }

    /// <summary>
    /// A resynchronisation begun for a fleet (the drain watch's resync key): like <see cref="BeginResyncAsync"/>, but the
    /// shared backlog stays (other processes queue to it too) and nothing is awaited. Returns false when the strand is not
    /// out of sync (it stays as it is).
    /// </summary>
    internal bool BeginFleetResync(HelixStrand strand, string reason)
    {
        var target = GetStrand(strand);
        if (target.State != HelixStrandState.OutOfSync)
        {
            return false;
        }

        _ = target.Controller.BeginResync(reason);
        Log.ResyncBegun(Logger, target.Name, 0);
        return true;
    }

    /// <summary>Ends a resynchronisation begun for a fleet; false when the strand is not being resynchronised.</summary>
    internal bool CompleteFleetResync(HelixStrand strand)
    {
        var target = GetStrand(strand);
        if (!target.Controller.IsResyncing)
        {
            return false;
        }

        CompleteResync(strand);
        return true;
    }

    /// <summary>
    /// Puts a dead letter of this data source's replay queue back in its strand's backlog, with its attempts reset, once
    /// its cause is fixed (a missing column): the strand catches up (reads avoid it) until the worker has applied it.
    /// </summary>
    /// <param name="entryId">The dead letter's entry id (<see cref="Replay.HelixReplayQueue.GetDeadLettersAsync"/>).</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns><see langword="false"/> when the queue has no dead letter with that id.</returns>
    /// <exception cref="InvalidOperationException">The data source has no replay queue.</exception>
    /// <exception cref="NotSupportedException">Its queue does not keep dead letters an operator can manage.</exception>
    public async ValueTask<bool> RetryDeadLetterAsync(Guid entryId, CancellationToken cancellationToken = default)
    {
        var queue = ReplayQueue ?? throw new InvalidOperationException("The data source has no replay queue (Replay=None, or single-strand mode): it has no dead letters.");
        var letter = (await queue.GetDeadLettersAsync(int.MaxValue, cancellationToken).ConfigureAwait(false)).FirstOrDefault(l => l.Entry.Id == entryId);
        if (letter is null || !await queue.RetryDeadLetterAsync(entryId, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        // A healthy strand must hold every acknowledged write: with an entry to apply, it is behind until it is applied.
        GetStrand(letter.Entry.Strand).Controller.ReportBehind();
        return true;
    }
}
