namespace Helix.Data.Replay;

/// <summary>
/// The common part of replay queues that keep entries outside the process (the NATS JetStream queue, the file queue):
/// durable and shared, entries stored with <see cref="HelixReplaySerializer"/>, intents kept, and the opening every such
/// queue does: the data source's context kept for reading entries back, then the store opened
/// (<see cref="OpenAsync"/>). The backlog of each strand is counted here; a queue sets it from its store and keeps it
/// current as entries come and go.
/// </summary>
public abstract class HelixDurableReplayQueue : HelixReplayQueue
{
    private readonly long[] _backlog = new long[2];
    private HelixReplayContext? _context;

    /// <inheritdoc />
    public sealed override bool IsDurable => true;

    /// <inheritdoc />
    public sealed override bool IsShared => true;

    /// <inheritdoc />
    public sealed override bool SupportsIntents => true;

    /// <summary>
    /// Gets the data source's context: the strands' providers that read entries back, and the clock. Throws until the data
    /// source has initialized the queue.
    /// </summary>
    /// <exception cref="InvalidOperationException">The queue has not been initialized by a data source yet.</exception>
    protected HelixReplayContext Context =>
        _context ?? throw new InvalidOperationException($"The {GetType().Name} reads entries back once a data source has initialized it; build a data source with this queue first.");

    /// <summary>Gets the clock the queue stamps intents and dead letters with: the data source's once it is initialized.</summary>
    protected TimeProvider TimeProvider => _context?.TimeProvider ?? TimeProvider.System;

    /// <inheritdoc />
    /// <remarks>Values the serializer cannot store are refused before anything is written.</remarks>
    public override bool CanStore(object? value) => HelixReplaySerializer.CanStore(value);

    /// <inheritdoc />
    public sealed override async ValueTask InitializeAsync(HelixReplayContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        await OpenAsync(context, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override long GetBacklog(HelixStrand strand) => Interlocked.Read(ref _backlog[(int)strand]);

    /// <summary>Opens the store: creates what is missing, and sets each strand's backlog from what it holds.</summary>
    /// <param name="context">The data source's context (also in <see cref="Context"/> from now on).</param>
    /// <param name="cancellationToken">A token to cancel the opening.</param>
    /// <returns>A task that completes when the queue can take and give entries.</returns>
    protected abstract ValueTask OpenAsync(HelixReplayContext context, CancellationToken cancellationToken);

    /// <summary>Sets a strand's backlog to what the store holds for it.</summary>
    /// <param name="strand">The strand.</param>
    /// <param name="count">The entries the store holds for it.</param>
    protected void SetBacklog(HelixStrand strand, long count) => Interlocked.Exchange(ref _backlog[(int)strand], count);

    /// <summary>Counts an entry stored for a strand.</summary>
    /// <param name="strand">The strand.</param>
    protected void IncrementBacklog(HelixStrand strand) => Interlocked.Increment(ref _backlog[(int)strand]);

    /// <summary>Counts an entry of a strand that left the store (applied or dead-lettered); never below zero.</summary>
    /// <param name="strand">The strand.</param>
    protected void DecrementBacklog(HelixStrand strand)
    {
        if (Interlocked.Decrement(ref _backlog[(int)strand]) < 0)
        {
            Interlocked.Exchange(ref _backlog[(int)strand], 0);
        }
    }
}
