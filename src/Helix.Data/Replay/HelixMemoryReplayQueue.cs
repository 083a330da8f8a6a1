using System.Globalization;

namespace Helix.Data.Replay;

/// <summary>
/// An in-process replay queue (<c>Replay=Memory</c>), bounded by memory per strand. It is fast and needs nothing, and it
/// loses its entries when the process ends: use it for development, tests and single processes that can afford that.
/// </summary>
/// <remarks>
/// The limits (<see cref="HelixMemoryReplayQueueOptions.MemoryLimit"/>, and an optional count) are admission limits:
/// Helix stops routing new writes to a full backlog, as its <c>Replay Full</c> policy says. <see cref="Enqueue"/> itself
/// always stores, because an entry whose write already ran on the other strand must not be lost; writes in flight may
/// take a backlog past its limit by their own entries.
/// </remarks>
public sealed class HelixMemoryReplayQueue : HelixReplayQueue
{
    private readonly Lock _lock = new();
    // Per strand, one queue per priority (index: the priority's value).
    private readonly Queue<(HelixReplayEntry Entry, long Bytes)>[][] _backlogs = [[new(), new()], [new(), new()]];
    private readonly long[] _bytes = new long[2];
    private readonly Queue<HelixDeadLetter> _deadLetters = new();
    private readonly List<HelixDiscardedDeadLetter> _discarded = [];
    private readonly HelixMemoryReplayQueueOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Internal.PriorityScheduler _scheduler;
    private long _enqueuedBytes;
    private long _enqueuedCount;

    /// <summary>Initializes a new instance of the <see cref="HelixMemoryReplayQueue"/> class.</summary>
    /// <param name="options">The limits, or <see langword="null"/> for the defaults (256 MiB per strand).</param>
    /// <param name="timeProvider">The clock for dead-letter times; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    public HelixMemoryReplayQueue(HelixMemoryReplayQueueOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = (options ?? new HelixMemoryReplayQueueOptions()).Validated();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _scheduler = new Internal.PriorityScheduler(_options.PriorityRatio, _options.StrictPriority);
    }

    /// <summary>Initializes a new instance of the <see cref="HelixMemoryReplayQueue"/> class with a count limit.</summary>
    /// <param name="capacity">How many entries each strand's backlog may hold (within the default memory limit).</param>
    /// <param name="deadLetterRetention">How many dead letters are kept for inspection; older ones are forgotten.</param>
    /// <param name="timeProvider">The clock for dead-letter times; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    public HelixMemoryReplayQueue(int capacity, int deadLetterRetention = 1_000, TimeProvider? timeProvider = null)
        : this(new HelixMemoryReplayQueueOptions { Capacity = capacity, DeadLetterRetention = deadLetterRetention }, timeProvider)
    {
    }

    /// <inheritdoc />
    public override long? Capacity => _options.Capacity;

    /// <summary>Gets how much memory, in bytes, one strand's backlog may take.</summary>
    public long MemoryLimit => _options.MemoryLimit;

    /// <inheritdoc />
    public override string? LimitDescription =>
        (Capacity is { } capacity ? $"{capacity} entries or " : string.Empty) + FormatBytes(MemoryLimit) + " of memory";

    /// <summary>Gets the most recent dead letters, oldest first.</summary>
    public IReadOnlyList<HelixDeadLetter> DeadLetters
    {
        get
        {
            lock (_lock)
            {
                return [.. _deadLetters];
            }
        }
    }

    /// <summary>Gets the estimated memory, in bytes, that a strand's backlog takes.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>The estimate; see <see cref="HelixMemoryReplayQueueOptions.MemoryLimit"/>.</returns>
    public long GetMemoryUsage(HelixStrand strand)
    {
        lock (_lock)
        {
            return _bytes[(int)strand];
        }
    }

    /// <inheritdoc />
    public override long GetBacklog(HelixStrand strand)
    {
        lock (_lock)
        {
            return Count(strand);
        }
    }

    /// <inheritdoc />
    /// <remarks>Writes in flight are counted at the average size of the entries stored so far.</remarks>
    public override bool IsFull(HelixStrand strand, long pending)
    {
        lock (_lock)
        {
            var count = Count(strand);
            var average = _enqueuedCount == 0 ? 0 : _enqueuedBytes / _enqueuedCount;
            return (Capacity is { } capacity && count + pending >= capacity) || _bytes[(int)strand] + (pending * average) >= MemoryLimit;
        }
    }

    /// <summary>Stores an entry at the tail of its strand's backlog; it never refuses one (the limits are Helix's to apply).</summary>
    /// <param name="entry">The entry.</param>
    public override void Enqueue(HelixReplayEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var bytes = ReplayEntrySize.Estimate(entry);
        lock (_lock)
        {
            _backlogs[(int)entry.Strand][(int)entry.Priority].Enqueue((entry, bytes));
            _bytes[(int)entry.Strand] += bytes;
            _enqueuedBytes += bytes;
            _enqueuedCount++;
        }
    }

    /// <inheritdoc />
    public override ValueTask EnqueueAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Enqueue(entry);
        return default;
    }

    /// <inheritdoc />
    public override ValueTask<IReadOnlyList<HelixReplayEntry>> ReadAsync(HelixStrand strand, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        lock (_lock)
        {
            foreach (var priority in _scheduler.Order(strand))
            {
                var backlog = _backlogs[(int)strand][(int)priority];
                if (backlog.Count > 0)
                {
                    _scheduler.Read(strand, priority);
                    return new([.. backlog.Take(maxCount).Select(e => e.Entry)]);
                }
            }

            return new([]);
        }
    }

    /// <inheritdoc />
    public override ValueTask CompleteAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            Remove(entry);
        }

        return default;
    }

    /// <inheritdoc />
    public override ValueTask DeadLetterAsync(HelixReplayEntry entry, string reason, CancellationToken cancellationToken = default)
    {
        DeadLetter(entry, reason);
        return default;
    }

    /// <inheritdoc />
    public override void DeadLetter(HelixReplayEntry entry, string reason)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            Remove(entry);
            if (_options.DeadLetterRetention > 0)
            {
                if (_deadLetters.Count == _options.DeadLetterRetention)
                {
                    _deadLetters.Dequeue();
                }

                _deadLetters.Enqueue(new HelixDeadLetter(entry, reason, _timeProvider.GetUtcNow()));
            }
        }
    }

    /// <inheritdoc />
    public override ValueTask<long> DiscardBacklogAsync(HelixStrand strand, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            long count = Count(strand);
            foreach (var backlog in _backlogs[(int)strand])
            {
                backlog.Clear();
            }

            _bytes[(int)strand] = 0;
            return new(count);
        }
    }

    /// <inheritdoc />
    public override bool ManagesDeadLetters => true;

    /// <inheritdoc />
    public override ValueTask<IReadOnlyList<HelixDeadLetter>> GetDeadLettersAsync(int maxCount = 1000, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return new([.. _deadLetters.Take(maxCount)]);
        }
    }

    /// <inheritdoc />
    public override ValueTask<bool> RetryDeadLetterAsync(Guid entryId, CancellationToken cancellationToken = default)
    {
        HelixDeadLetter? letter;
        lock (_lock)
        {
            letter = TakeDeadLetter(entryId);
        }

        if (letter is null)
        {
            return new(false);
        }

        letter.Entry.Attempts = 0;
        Enqueue(letter.Entry);
        return new(true);
    }

    /// <inheritdoc />
    public override ValueTask<bool> DiscardDeadLetterAsync(Guid entryId, string reason, string by, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (TakeDeadLetter(entryId) is not { } letter)
            {
                return new(false);
            }

            _discarded.Add(new HelixDiscardedDeadLetter(letter, reason, by, _timeProvider.GetUtcNow()));
            return new(true);
        }
    }

    /// <inheritdoc />
    public override ValueTask<IReadOnlyList<HelixDiscardedDeadLetter>> GetDiscardedAsync(int maxCount = 1000, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return new([.. _discarded.Take(maxCount)]);
        }
    }

    private HelixDeadLetter? TakeDeadLetter(Guid entryId)
    {
        var letter = _deadLetters.FirstOrDefault(l => l.Entry.Id == entryId);
        if (letter is not null)
        {
            var rest = _deadLetters.Where(l => l != letter).ToList();
            _deadLetters.Clear();
            rest.ForEach(_deadLetters.Enqueue);
        }

        return letter;
    }

    private long Count(HelixStrand strand) => _backlogs[(int)strand][0].Count + _backlogs[(int)strand][1].Count;

    private static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 when bytes % (1L << 30) == 0 => (bytes >> 30).ToString(CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.#", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.#", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " bytes",
    };

    private void Remove(HelixReplayEntry entry)
    {
        _scheduler.Completed(entry);
        var strand = (int)entry.Strand;
        var backlog = _backlogs[strand][(int)entry.Priority];
        if (backlog.TryPeek(out var head) && head.Entry.Id == entry.Id)
        {
            _bytes[strand] -= backlog.Dequeue().Bytes;
            return;
        }

        if (backlog.FirstOrDefault(e => e.Entry.Id == entry.Id) is { Entry: not null } removed)
        {
            // Not at the head: rebuild without it (rare; the worker completes entries in order).
            var rest = backlog.Where(e => e.Entry.Id != entry.Id).ToList();
            backlog.Clear();
            rest.ForEach(backlog.Enqueue);
            _bytes[strand] -= removed.Bytes;
        }
    }
}
