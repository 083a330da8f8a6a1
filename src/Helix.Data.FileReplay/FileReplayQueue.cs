using Helix.Data.Internal;
using Helix.Data.Replay;

namespace Helix.Data.FileReplay;

/// <summary>
/// A durable replay queue in one local SQLite file (<c>Replay=file:path</c>): entries survive the process, and an entry
/// is on disk (WAL, <c>synchronous=FULL</c>) before the write that produced it is acknowledged. Several processes on
/// the machine can share the file: applications that only enqueue (<c>Replay Worker=false</c>) and one process that
/// runs the worker.
/// </summary>
/// <remarks>Every operation has a synchronous form that does no asynchronous work: a synchronous write waits only for the disk.</remarks>
public sealed class FileReplayQueue : HelixDurableReplayQueue
{
    private readonly FileReplayStore _store;
    private readonly FileReplayQueueOptions _options;
    private readonly PriorityScheduler _scheduler;
    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <summary>Initializes a new instance of the <see cref="FileReplayQueue"/> class.</summary>
    /// <param name="path">The file; it and its folder are created when missing.</param>
    /// <param name="options">Settings, or <see langword="null"/> for the defaults.</param>
    public FileReplayQueue(string path, FileReplayQueueOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _options = options ?? new FileReplayQueueOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.PriorityRatio, 1);
        _scheduler = new PriorityScheduler(_options.PriorityRatio, _options.StrictPriority);
        _store = new FileReplayStore(Path);
    }

    /// <summary>Gets the full path of the file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    /// <remarks>
    /// An admission limit that Helix applies before it routes a write here (<see cref="HelixReplayQueue.IsFull"/>): an
    /// entry whose write already ran on the other strand is stored beyond it, never refused.
    /// </remarks>
    public override long? Capacity => _options.Capacity;

    /// <inheritdoc />
    protected override ValueTask OpenAsync(HelixReplayContext context, CancellationToken cancellationToken) => LockedAsync(RefreshCounts, cancellationToken);

    /// <inheritdoc />
    public override async ValueTask<long> GetBacklogAsync(HelixStrand strand, CancellationToken cancellationToken = default)
    {
        await LockedAsync(RefreshCounts, cancellationToken).ConfigureAwait(false);
        return GetBacklog(strand);
    }

    /// <inheritdoc />
    public override void Enqueue(HelixReplayEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var data = HelixReplaySerializer.Serialize(entry);
        Locked(() => Stored(() => _store.Insert([(entry, data)])));
    }

    /// <inheritdoc />
    public override ValueTask EnqueueAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var data = HelixReplaySerializer.Serialize(entry);
        return LockedAsync(() => Stored(() => _store.Insert([(entry, data)])), cancellationToken);
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<HelixReplayEntry>> ReadAsync(HelixStrand strand, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var context = Context;
        IReadOnlyList<HelixReplayEntry> read = [];
        await LockedAsync(
            () =>
            {
                foreach (var priority in _scheduler.Order(strand))
                {
                    var rows = _store.Read(strand, priority, maxCount);
                    if (rows.Count > 0)
                    {
                        _scheduler.Read(strand, priority);
                        read = [.. rows.Select(r => WithAttempts(context.Deserialize(r.Data), r.Attempts))];
                        return;
                    }
                }
            },
            cancellationToken).ConfigureAwait(false);
        return read;

        static HelixReplayEntry WithAttempts(HelixReplayEntry entry, int attempts)
        {
            entry.Attempts = attempts;
            return entry;
        }
    }

    /// <inheritdoc />
    public override ValueTask CompleteAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return CompleteAsync([entry], cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Removes all the entries in one transaction: one synchronised write for a whole applied batch.</remarks>
    public override ValueTask CompleteAsync(IReadOnlyList<HelixReplayEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            _scheduler.Completed(entry);
        }

        return LockedAsync(() => Stored(() => _store.Remove(entries)), cancellationToken);
    }

    /// <inheritdoc />
    public override ValueTask DeadLetterAsync(HelixReplayEntry entry, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var data = HelixReplaySerializer.Serialize(entry);
        return LockedAsync(() => Stored(() => _store.DeadLetter(entry, data, reason, Now())), cancellationToken);
    }

    /// <inheritdoc />
    public override void DeadLetter(HelixReplayEntry entry, string reason)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var data = HelixReplaySerializer.Serialize(entry);
        Locked(() => Stored(() => _store.DeadLetter(entry, data, reason, Now())));
    }

    /// <inheritdoc />
    public override ValueTask ReleaseAsync(IReadOnlyList<HelixReplayEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return LockedAsync(() => _store.UpdateAttempts(entries.Where(e => e.Attempts > 0)), cancellationToken);
    }

    /// <inheritdoc />
    public override ValueTask RecordIntentAsync(Guid intentId, IReadOnlyList<HelixReplayEntry> entries, CancellationToken cancellationToken = default)
    {
        var data = HelixReplaySerializer.SerializeMany(entries);
        return LockedAsync(() => _store.StoreIntent(intentId, data, Now()), cancellationToken);
    }

    /// <inheritdoc />
    public override void RecordIntent(Guid intentId, IReadOnlyList<HelixReplayEntry> entries)
    {
        var data = HelixReplaySerializer.SerializeMany(entries);
        Locked(() => _store.StoreIntent(intentId, data, Now()));
    }

    /// <inheritdoc />
    public override ValueTask ForgetIntentAsync(Guid intentId, CancellationToken cancellationToken = default) =>
        LockedAsync(() => _store.DeleteIntent(intentId), cancellationToken);

    /// <inheritdoc />
    public override void ForgetIntent(Guid intentId) => Locked(() => _store.DeleteIntent(intentId));

    /// <inheritdoc />
    public override async ValueTask<long> DiscardBacklogAsync(HelixStrand strand, CancellationToken cancellationToken = default)
    {
        long discarded = 0;
        await LockedAsync(() => Stored(() => discarded = _store.Discard(strand)), cancellationToken).ConfigureAwait(false);
        return discarded;
    }

    /// <inheritdoc />
    public override async ValueTask<int> PromoteAbandonedIntentsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken = default)
    {
        var context = Context;
        var promoted = 0;
        await LockedAsync(
            () => Stored(() => promoted = _store.PromoteIntents(olderThan, data => context.DeserializeMany(data).Select(e => (e, HelixReplaySerializer.Serialize(e))))),
            cancellationToken).ConfigureAwait(false);
        return promoted;
    }

    /// <inheritdoc />
    public override bool ManagesDeadLetters => true;

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<HelixDeadLetter>> GetDeadLettersAsync(int maxCount = 1000, CancellationToken cancellationToken = default) =>
        await ReadDeadLettersAsync(maxCount, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public override async ValueTask<bool> RetryDeadLetterAsync(Guid entryId, CancellationToken cancellationToken = default)
    {
        var context = Context;
        var found = false;
        await LockedAsync(() => Stored(() => found = _store.RetryDeadLetter(entryId, data => context.Deserialize(data))), cancellationToken).ConfigureAwait(false);
        return found;
    }

    /// <inheritdoc />
    public override async ValueTask<bool> DiscardDeadLetterAsync(Guid entryId, string reason, string by, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        var found = false;
        await LockedAsync(() => Stored(() => found = _store.DiscardDeadLetter(entryId, reason, by, Now())), cancellationToken).ConfigureAwait(false);
        return found;
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<HelixDiscardedDeadLetter>> GetDiscardedAsync(int maxCount = 1000, CancellationToken cancellationToken = default)
    {
        var context = Context;
        IReadOnlyList<HelixDiscardedDeadLetter> records = [];
        await LockedAsync(
            () => records = [.. _store.ReadDiscarded(maxCount).Select(r => new HelixDiscardedDeadLetter(new HelixDeadLetter(context.Deserialize(r.Data), r.Reason, r.At), r.Why, r.By, r.When))],
            cancellationToken).ConfigureAwait(false);
        return records;
    }

    /// <summary>Reads the entries that were set aside because they cannot be applied, oldest first.</summary>
    /// <param name="maxCount">The largest number to return.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>The dead letters.</returns>
    public async Task<IReadOnlyList<HelixDeadLetter>> ReadDeadLettersAsync(int maxCount = 1000, CancellationToken cancellationToken = default)
    {
        var context = Context;
        IReadOnlyList<HelixDeadLetter> letters = [];
        await LockedAsync(() => letters = [.. _store.ReadDeadLetters(maxCount).Select(l => new HelixDeadLetter(context.Deserialize(l.Data), l.Reason, l.At))], cancellationToken).ConfigureAwait(false);
        return letters;
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            _store.Dispose();
        }
        finally
        {
            _lock.Release();
        }

        _lock.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private DateTimeOffset Now() => TimeProvider.GetUtcNow();

    /// <summary>Runs a change to the entries, then reads the backlog counts back (called under the lock).</summary>
    private void Stored(Action change)
    {
        change();
        RefreshCounts();
    }

    // Called under the lock.
    private void RefreshCounts()
    {
        foreach (var strand in (ReadOnlySpan<HelixStrand>)[HelixStrand.Primary, HelixStrand.Secondary])
        {
            SetBacklog(strand, _store.Count(strand));
        }
    }

    /// <summary>Runs <paramref name="body"/> under the lock, on the open file: the synchronous callers' way.</summary>
    private void Locked(Action body)
    {
        _lock.Wait();
        try
        {
            _store.Open();
            body();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Runs <paramref name="body"/> under the lock, on the open file, waiting for the lock asynchronously.</summary>
    private async ValueTask LockedAsync(Action body, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _store.Open();
            body();
        }
        finally
        {
            _lock.Release();
        }
    }
}
