namespace Helix.Data.Replay;

/// <summary>
/// A bounded, in-process replay queue (<c>Replay=Memory</c>). It is fast and needs nothing, and it loses its entries
/// when the process ends: use it for development, tests and single processes that can afford that.
/// </summary>
public sealed class HelixMemoryReplayQueue : HelixReplayQueue
{
    private readonly Lock _lock = new();
    private readonly Queue<HelixReplayEntry>[] _backlogs = [new(), new()];
    private readonly Queue<HelixDeadLetter> _deadLetters = new();
    private readonly int _deadLetterRetention;
    private readonly TimeProvider _timeProvider;

    /// <summary>Initializes a new instance of the <see cref="HelixMemoryReplayQueue"/> class.</summary>
    /// <param name="capacity">How many entries each strand's backlog may hold.</param>
    /// <param name="deadLetterRetention">How many dead letters are kept for inspection; older ones are forgotten.</param>
    /// <param name="timeProvider">The clock for dead-letter times; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    public HelixMemoryReplayQueue(int capacity = 10_000, int deadLetterRetention = 1_000, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(deadLetterRetention);
        Capacity = capacity;
        _deadLetterRetention = deadLetterRetention;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public override long? Capacity { get; }

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

    /// <inheritdoc />
    public override long GetBacklog(HelixStrand strand)
    {
        lock (_lock)
        {
            return _backlogs[(int)strand].Count;
        }
    }

    /// <inheritdoc />
    public override void Enqueue(HelixReplayEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            var backlog = _backlogs[(int)entry.Strand];
            if (backlog.Count >= Capacity)
            {
                throw new InvalidOperationException($"The in-memory replay queue of strand {entry.Strand} is full ({Capacity} entries).");
            }

            backlog.Enqueue(entry);
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
            var backlog = _backlogs[(int)strand];
            IReadOnlyList<HelixReplayEntry> batch = backlog.Count == 0 ? [] : [.. backlog.Take(maxCount)];
            return new(batch);
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
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            Remove(entry);
            if (_deadLetterRetention > 0)
            {
                if (_deadLetters.Count == _deadLetterRetention)
                {
                    _deadLetters.Dequeue();
                }

                _deadLetters.Enqueue(new HelixDeadLetter(entry, reason, _timeProvider.GetUtcNow()));
            }
        }

        return default;
    }

    private void Remove(HelixReplayEntry entry)
    {
        var backlog = _backlogs[(int)entry.Strand];
        if (backlog.TryPeek(out var head) && head.Id == entry.Id)
        {
            backlog.Dequeue();
            return;
        }

        if (backlog.Any(e => e.Id == entry.Id))
        {
            // Not at the head: rebuild without it (rare; the worker completes entries in order).
            var rest = backlog.Where(e => e.Id != entry.Id).ToList();
            backlog.Clear();
            rest.ForEach(backlog.Enqueue);
        }
    }
}
