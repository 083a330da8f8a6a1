namespace Helix.Data.Replay;

/// <summary>
/// Where replay entries wait until their strand can take them. Implementations keep one ordered backlog per strand;
/// the replay worker reads each backlog from its head, applies entries in order and completes them.
/// </summary>
/// <remarks>
/// Helix calls <see cref="Enqueue"/> or <see cref="EnqueueAsync"/> before it acknowledges a write, so an entry must be
/// stored (as durably as the queue promises) when they return. Entries of one strand must be returned by
/// <see cref="ReadAsync"/> in the order they were enqueued.
/// </remarks>
public abstract class HelixReplayQueue : IAsyncDisposable
{
    /// <summary>Gets how many entries one strand's backlog may hold, or <see langword="null"/> when the queue sets no such limit.</summary>
    public virtual long? Capacity => null;

    /// <summary>
    /// Whether a strand's backlog has no room for another entry, counting <paramref name="pending"/> entries that writes in
    /// flight are about to add. Helix asks before it routes a write to the queue (the <c>Replay Full</c> policy decides
    /// what a full queue does); an entry whose write already ran on another strand is enqueued even beyond the limit
    /// when the queue takes it. The default compares the backlog with <see cref="Capacity"/>.
    /// </summary>
    /// <param name="strand">The strand.</param>
    /// <param name="pending">Entries that writes in flight will enqueue for the strand.</param>
    /// <returns><see langword="true"/> when the strand's backlog is full.</returns>
    public virtual bool IsFull(HelixStrand strand, long pending) => Capacity is { } capacity && GetBacklog(strand) + pending >= capacity;

    /// <summary>Gets a short description of the queue's limit for messages, such as <c>10000 entries</c>, or <see langword="null"/> when it has none.</summary>
    public virtual string? LimitDescription => Capacity is { } capacity ? $"{capacity} entries" : null;

    /// <summary>
    /// Removes every entry waiting for a strand, without applying it: the strand is being resynchronised from the other
    /// strand, whose data holds every write those entries carry (see <see cref="HelixDataSource.BeginResyncAsync"/>).
    /// Dead letters are kept. The default refuses: a queue that cannot do it keeps its entries, and the worker applies
    /// them after the resynchronisation, which writes guarded by <c>helix_ts</c> make harmless.
    /// </summary>
    /// <param name="strand">The strand.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>How many entries were removed.</returns>
    public virtual ValueTask<long> DiscardBacklogAsync(HelixStrand strand, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{GetType().Name} cannot discard a strand's backlog.");

    /// <summary>Gets a value indicating whether entries survive the end of the process.</summary>
    public virtual bool IsDurable => false;

    /// <summary>
    /// Gets a value indicating whether other processes may add entries (a fleet sharing a NATS stream, a worker
    /// process sharing a file): the worker then also polls the queue while the strands are healthy.
    /// </summary>
    public virtual bool IsShared => false;

    /// <summary>
    /// Prepares the queue (creates streams, files, tables) and gives it what it needs to read entries back. The data
    /// source calls it once, in the background, before the worker reads; a failure is retried with backoff.
    /// </summary>
    /// <param name="context">The strands the queue serves.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the queue is ready.</returns>
    public virtual ValueTask InitializeAsync(HelixReplayContext context, CancellationToken cancellationToken = default) => default;

    /// <summary>Gets how many entries wait for a strand.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>The number of entries not yet completed or dead-lettered.</returns>
    public abstract long GetBacklog(HelixStrand strand);

    /// <summary>Gets how many entries wait for a strand, asking the store itself rather than a cached count.</summary>
    /// <param name="strand">The strand.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>The number of entries not yet completed or dead-lettered.</returns>
    public virtual ValueTask<long> GetBacklogAsync(HelixStrand strand, CancellationToken cancellationToken = default) => new(GetBacklog(strand));

    /// <summary>
    /// Whether the queue can store a parameter value. Helix checks every value of a write before anything runs, so
    /// that a write the queue could not hold for a strand that misses it is refused with nothing written. The default
    /// accepts everything (the value is kept as the object it is).
    /// </summary>
    /// <param name="value">A parameter value.</param>
    /// <returns><see langword="true"/> when the queue can store it.</returns>
    public virtual bool CanStore(object? value) => true;

    /// <summary>
    /// Stores an entry at the tail of its strand's backlog, for a synchronous write. The default waits for
    /// <see cref="EnqueueAsync"/>, run without the caller's synchronization context: override it in a queue that can
    /// store without asynchronous I/O.
    /// </summary>
    /// <param name="entry">The entry.</param>
    public virtual void Enqueue(HelixReplayEntry entry) => Wait(() => EnqueueAsync(entry));

    /// <summary>Stores an entry at the tail of its strand's backlog.</summary>
    /// <param name="entry">The entry.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the entry is stored.</returns>
    public abstract ValueTask EnqueueAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Returns up to <paramref name="maxCount"/> entries from the head of a strand's backlog, in order, without removing them.</summary>
    /// <param name="strand">The strand.</param>
    /// <param name="maxCount">The largest number of entries to return.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>The entries; empty when the backlog is empty.</returns>
    public abstract ValueTask<IReadOnlyList<HelixReplayEntry>> ReadAsync(HelixStrand strand, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives back entries that <see cref="ReadAsync"/> returned but that were not applied (the strand faulted, or an
    /// entry is to be tried again after a statement error), so that they are read again, in order. Their
    /// <see cref="HelixReplayEntry.Attempts"/> count is to be kept. The default does nothing: entries stay at the head.
    /// </summary>
    /// <param name="entries">The entries, in order.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the entries are given back.</returns>
    public virtual ValueTask ReleaseAsync(IReadOnlyList<HelixReplayEntry> entries, CancellationToken cancellationToken = default) => default;

    /// <summary>
    /// Gets a value indicating whether the queue keeps intents (<see cref="RecordIntentAsync"/>): durable queues do, so that
    /// a process that dies in the middle of a write while a strand is behind cannot leave the strands different.
    /// </summary>
    public virtual bool SupportsIntents => false;

    /// <summary>
    /// Stores, before a write runs while some strand is behind, the entries that would bring the write to every strand.
    /// When the write's outcome is settled Helix forgets the intent; an intent older than the in-doubt timeout belongs
    /// to a process that died mid-write, and the worker promotes it (<see cref="PromoteAbandonedIntentsAsync"/>): every
    /// strand gets the write, so the strands converge (a strand that had applied it applies it again).
    /// </summary>
    /// <param name="intentId">The intent's id.</param>
    /// <param name="entries">One entry per strand.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the intent is stored.</returns>
    public virtual ValueTask RecordIntentAsync(Guid intentId, IReadOnlyList<HelixReplayEntry> entries, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{GetType().Name} does not keep intents.");

    /// <summary>
    /// Stores an intent (see <see cref="RecordIntentAsync"/>) for a synchronous write. The default waits for
    /// <see cref="RecordIntentAsync"/>: override it in a queue that can store without asynchronous I/O.
    /// </summary>
    /// <param name="intentId">The intent's id.</param>
    /// <param name="entries">One entry per strand.</param>
    public virtual void RecordIntent(Guid intentId, IReadOnlyList<HelixReplayEntry> entries) => Wait(() => RecordIntentAsync(intentId, entries));

    /// <summary>
    /// Forgets an intent (see <see cref="ForgetIntentAsync"/>) for a synchronous write. The default waits for
    /// <see cref="ForgetIntentAsync"/>: override it in a queue that can do it without asynchronous I/O.
    /// </summary>
    /// <param name="intentId">The intent's id.</param>
    public virtual void ForgetIntent(Guid intentId) => Wait(() => ForgetIntentAsync(intentId));

    /// <summary>
    /// Sets an entry aside (see <see cref="DeadLetterAsync"/>) for a synchronous write. The default waits for
    /// <see cref="DeadLetterAsync"/>: override it in a queue that can do it without asynchronous I/O.
    /// </summary>
    /// <param name="entry">The entry.</param>
    /// <param name="reason">Why, without secrets.</param>
    public virtual void DeadLetter(HelixReplayEntry entry, string reason) => Wait(() => DeadLetterAsync(entry, reason));

    /// <summary>Forgets an intent whose write has settled.</summary>
    /// <param name="intentId">The intent's id.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the intent is gone.</returns>
    public virtual ValueTask ForgetIntentAsync(Guid intentId, CancellationToken cancellationToken = default) => default;

    /// <summary>Turns intents recorded before <paramref name="olderThan"/> into entries at the tail of their strands' backlogs.</summary>
    /// <param name="olderThan">Intents recorded before this time belong to processes that died mid-write.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>How many intents were promoted.</returns>
    public virtual ValueTask<int> PromoteAbandonedIntentsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken = default) => new(0);

    /// <summary>Removes an entry that was applied to its strand.</summary>
    /// <param name="entry">The entry, as returned by <see cref="ReadAsync"/>.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the entry is removed.</returns>
    public abstract ValueTask CompleteAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes entries that were applied together (in one transaction on their strand). The default completes them one
    /// by one; a durable queue overrides it to remove them in one write.
    /// </summary>
    /// <param name="entries">The entries, as returned by <see cref="ReadAsync"/>.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the entries are removed.</returns>
    public virtual async ValueTask CompleteAsync(IReadOnlyList<HelixReplayEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            await CompleteAsync(entry, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sets an entry aside that can never be applied, removing it from its backlog if it is there, and keeps it where
    /// an operator can find it.
    /// </summary>
    /// <param name="entry">The entry.</param>
    /// <param name="reason">Why, without secrets.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the entry is set aside.</returns>
    public abstract ValueTask DeadLetterAsync(HelixReplayEntry entry, string reason, CancellationToken cancellationToken = default);

    /// <summary>Gets a value indicating whether an operator can list, retry and discard this queue's dead letters.</summary>
    public virtual bool ManagesDeadLetters => false;

    /// <summary>Lists the dead letters: entries set aside because they cannot be applied, oldest first.</summary>
    /// <param name="maxCount">The largest number to return.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>The dead letters.</returns>
    /// <exception cref="NotSupportedException">The queue does not keep dead letters an operator can manage (<see cref="ManagesDeadLetters"/>).</exception>
    public virtual ValueTask<IReadOnlyList<HelixDeadLetter>> GetDeadLettersAsync(int maxCount = 1000, CancellationToken cancellationToken = default) =>
        throw NoDeadLetters();

    /// <summary>
    /// Puts a dead letter back in its strand's backlog, after the entries waiting now, with its attempts reset: once the
    /// operator fixed its cause (a missing column), the worker applies it like any entry.
    /// </summary>
    /// <param name="entryId">The entry's id.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns><see langword="false"/> when no dead letter has that id.</returns>
    /// <exception cref="NotSupportedException">The queue does not keep dead letters an operator can manage.</exception>
    public virtual ValueTask<bool> RetryDeadLetterAsync(Guid entryId, CancellationToken cancellationToken = default) => throw NoDeadLetters();

    /// <summary>
    /// Gives up on a dead letter for good: it leaves the dead letters, and an audit record keeps it with who discarded it,
    /// when and why (<see cref="GetDiscardedAsync"/>). The strands keep differing by it unless the operator repairs them.
    /// </summary>
    /// <param name="entryId">The entry's id.</param>
    /// <param name="reason">Why, in the operator's words.</param>
    /// <param name="by">Who.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns><see langword="false"/> when no dead letter has that id.</returns>
    /// <exception cref="NotSupportedException">The queue does not keep dead letters an operator can manage.</exception>
    public virtual ValueTask<bool> DiscardDeadLetterAsync(Guid entryId, string reason, string by, CancellationToken cancellationToken = default) => throw NoDeadLetters();

    /// <summary>Lists the audit records of discarded dead letters, oldest first.</summary>
    /// <param name="maxCount">The largest number to return.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>The records.</returns>
    /// <exception cref="NotSupportedException">The queue does not keep dead letters an operator can manage.</exception>
    public virtual ValueTask<IReadOnlyList<HelixDiscardedDeadLetter>> GetDiscardedAsync(int maxCount = 1000, CancellationToken cancellationToken = default) => throw NoDeadLetters();

    private NotSupportedException NoDeadLetters() => new($"{GetType().Name} does not keep dead letters an operator can manage; the memory and file queues do.");

    /// <summary>
    /// Runs an operation of a queue that has only an asynchronous form of it (NATS has no synchronous API) and waits for
    /// it. It starts without the caller's synchronization context: a thread that blocks here (a UI thread, a classic
    /// ASP.NET request) could not also run the continuations of what it waits for, and would wait forever.
    /// </summary>
    private static void Wait(Func<ValueTask> operation)
    {
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            var running = operation();
            if (running.IsCompleted)
            {
                running.GetAwaiter().GetResult();
                return;
            }

            running.AsTask().GetAwaiter().GetResult();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return default;
    }
}
