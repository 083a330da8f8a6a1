using Helix.Data.Internal;
using Helix.Data.Replay;
using Microsoft.Data.Sqlite;

namespace Helix.Data.FileReplay;

/// <summary>
/// A durable replay queue in one local SQLite file (<c>Replay=file:path</c>): entries survive the process, and an entry
/// is on disk (WAL, <c>synchronous=FULL</c>) before the write that produced it is acknowledged. Several processes on
/// the machine can share the file: applications that only enqueue (<c>Replay Worker=false</c>) and one process that
/// runs the worker.
/// </summary>
public sealed class FileReplayQueue : HelixReplayQueue
{
    private readonly string _path;
    private readonly FileReplayQueueOptions _options;
    private readonly PriorityScheduler _scheduler;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly long[] _backlog = new long[2];
    private SqliteConnection? _connection;
    private HelixReplayContext? _context;

    /// <summary>Initializes a new instance of the <see cref="FileReplayQueue"/> class.</summary>
    /// <param name="path">The file; it and its folder are created when missing.</param>
    /// <param name="options">Settings, or <see langword="null"/> for the defaults.</param>
    public FileReplayQueue(string path, FileReplayQueueOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _path = System.IO.Path.GetFullPath(path);
        _options = options ?? new FileReplayQueueOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.PriorityRatio, 1);
        _scheduler = new PriorityScheduler(_options.PriorityRatio, _options.StrictPriority);
    }

    /// <summary>Gets the full path of the file.</summary>
    public string Path => _path;

    /// <inheritdoc />
    public override long? Capacity => _options.Capacity;

    /// <inheritdoc />
    public override bool IsDurable => true;

    /// <inheritdoc />
    public override bool IsShared => true;

    /// <inheritdoc />
    public override bool CanStore(object? value) => HelixReplaySerializer.CanStore(value);

    /// <inheritdoc />
    public override async ValueTask InitializeAsync(HelixReplayContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Open();
            RefreshCounts();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public override long GetBacklog(HelixStrand strand) => Interlocked.Read(ref _backlog[(int)strand]);

    /// <inheritdoc />
    public override async ValueTask<long> GetBacklogAsync(HelixStrand strand, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Open();
            RefreshCounts();
            return GetBacklog(strand);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public override void Enqueue(HelixReplayEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var data = HelixReplaySerializer.Serialize(entry);
        _lock.Wait();
        try
        {
            Insert(entry, data);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public override async ValueTask EnqueueAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var data = HelixReplaySerializer.Serialize(entry);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Insert(entry, data);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<HelixReplayEntry>> ReadAsync(HelixStrand strand, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var context = _context ?? throw new InvalidOperationException("The queue reads entries back once the data source has initialized it.");
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Open();
            foreach (var priority in _scheduler.Order(strand))
            {
                using var command = Command("SELECT data, attempts FROM entries WHERE strand = $strand AND priority = $priority ORDER BY seq LIMIT $max");
                command.Parameters.AddWithValue("$strand", (int)strand);
                command.Parameters.AddWithValue("$priority", (int)priority);
                command.Parameters.AddWithValue("$max", maxCount);
                using var reader = command.ExecuteReader();
                var entries = new List<HelixReplayEntry>();
                while (reader.Read())
                {
                    var entry = context.Deserialize((byte[])reader.GetValue(0));
                    entry.Attempts = reader.GetInt32(1);
                    entries.Add(entry);
                }

                if (entries.Count > 0)
                {
                    _scheduler.Served(strand, priority);
                    return entries;
                }
            }

            return [];
        }
        finally
        {
            _lock.Release();
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
    public override async ValueTask CompleteAsync(IReadOnlyList<HelixReplayEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Open();
            using var transaction = _connection!.BeginTransaction();
            foreach (var entry in entries)
            {
                Remove(entry, transaction);
            }

            transaction.Commit();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public override async ValueTask DeadLetterAsync(HelixReplayEntry entry, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var data = HelixReplaySerializer.Serialize(entry);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Open();
            using var transaction = _connection!.BeginTransaction();
            using (var insert = Command("INSERT OR IGNORE INTO dead_letters (id, strand, data, reason, at) VALUES ($id, $strand, $data, $reason, $at)", transaction))
            {
                insert.Parameters.AddWithValue("$id", entry.Id.ToByteArray());
                insert.Parameters.AddWithValue("$strand", (int)entry.Strand);
                insert.Parameters.AddWithValue("$data", data);
                insert.Parameters.AddWithValue("$reason", reason);
                insert.Parameters.AddWithValue("$at", Now().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                insert.ExecuteNonQuery();
            }

            Remove(entry, transaction);
            transaction.Commit();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public override async ValueTask ReleaseAsync(IReadOnlyList<HelixReplayEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Open();
            using var transaction = _connection!.BeginTransaction();
            foreach (var entry in entries.Where(e => e.Attempts > 0))
            {
                using var update = Command("UPDATE entries SET attempts = $attempts WHERE id = $id", transaction);
                update.Parameters.AddWithValue("$attempts", entry.Attempts);
                update.Parameters.AddWithValue("$id", entry.Id.ToByteArray());
                update.ExecuteNonQuery();
            }

            transaction.Commit();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public override bool SupportsIntents => true;

    /// <inheritdoc />
    public override async ValueTask RecordIntentAsync(Guid intentId, IReadOnlyList<HelixReplayEntry> entries, CancellationToken cancellationToken = default)
    {
        var data = HelixReplaySerializer.SerializeMany(entries);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Open();
            using var insert = Command("INSERT OR REPLACE INTO intents (id, created, data) VALUES ($id, $created, $data)");
            insert.Parameters.AddWithValue("$id", intentId.ToByteArray());
            insert.Parameters.AddWithValue("$created", Now().UtcTicks);
            insert.Parameters.AddWithValue("$data", data);
            insert.ExecuteNonQuery();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public override async ValueTask ForgetIntentAsync(Guid intentId, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Open();
            using var delete = Command("DELETE FROM intents WHERE id = $id");
            delete.Parameters.AddWithValue("$id", intentId.ToByteArray());
            delete.ExecuteNonQuery();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public override async ValueTask<long> DiscardBacklogAsync(HelixStrand strand, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Open();
            using var transaction = _connection!.BeginTransaction();
            using var delete = Command("DELETE FROM entries WHERE strand = $strand", transaction);
            delete.Parameters.AddWithValue("$strand", (int)strand);
            var discarded = delete.ExecuteNonQuery();
            using var reset = Command("UPDATE counts SET backlog = 0 WHERE strand = $strand", transaction);
            reset.Parameters.AddWithValue("$strand", (int)strand);
            reset.ExecuteNonQuery();
            transaction.Commit();
            RefreshCounts();
            return discarded;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public override async ValueTask<int> PromoteAbandonedIntentsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken = default)
    {
        var context = _context ?? throw new InvalidOperationException("The queue reads intents back once the data source has initialized it.");
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Open();
            using var transaction = _connection!.BeginTransaction();
            var abandoned = new List<(byte[] Id, byte[] Data)>();
            using (var select = Command("SELECT id, data FROM intents WHERE created < $before ORDER BY created", transaction))
            {
                select.Parameters.AddWithValue("$before", olderThan.UtcTicks);
                using var reader = select.ExecuteReader();
                while (reader.Read())
                {
                    abandoned.Add(((byte[])reader.GetValue(0), (byte[])reader.GetValue(1)));
                }
            }

            foreach (var (id, data) in abandoned)
            {
                foreach (var entry in context.DeserializeMany(data))
                {
                    InsertEntry(entry, HelixReplaySerializer.Serialize(entry), transaction);
                }

                using var delete = Command("DELETE FROM intents WHERE id = $id", transaction);
                delete.Parameters.AddWithValue("$id", id);
                delete.ExecuteNonQuery();
            }

            transaction.Commit();
            RefreshCounts();
            return abandoned.Count;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Reads the entries that were set aside because they cannot be applied, oldest first.</summary>
    /// <param name="maxCount">The largest number to return.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>The dead letters.</returns>
    public async Task<IReadOnlyList<HelixDeadLetter>> ReadDeadLettersAsync(int maxCount = 1000, CancellationToken cancellationToken = default)
    {
        var context = _context ?? throw new InvalidOperationException("The queue reads entries back once the data source has initialized it.");
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Open();
            using var command = Command("SELECT data, reason, at FROM dead_letters ORDER BY seq LIMIT $max");
            command.Parameters.AddWithValue("$max", maxCount);
            using var reader = command.ExecuteReader();
            var letters = new List<HelixDeadLetter>();
            while (reader.Read())
            {
                letters.Add(new HelixDeadLetter(context.Deserialize((byte[])reader.GetValue(0)), reader.GetString(1), DateTimeOffset.Parse(reader.GetString(2), System.Globalization.CultureInfo.InvariantCulture)));
            }

            return letters;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_connection is not null)
            {
                await _connection.DisposeAsync().ConfigureAwait(false);
                _connection = null;
            }
        }
        finally
        {
            _lock.Release();
        }

        _lock.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    // Called under the lock.
    private void Open()
    {
        if (_connection is not null)
        {
            return;
        }

        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(_path)!);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ConnectionString);
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            // WAL with synchronous=FULL: a committed entry survives a crash of the process and of the machine.
            setup.CommandText = """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = FULL;
                CREATE TABLE IF NOT EXISTS entries (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, id BLOB NOT NULL UNIQUE, strand INTEGER NOT NULL,
                    priority INTEGER NOT NULL, attempts INTEGER NOT NULL, data BLOB NOT NULL);
                CREATE INDEX IF NOT EXISTS entries_by_strand ON entries (strand, priority, seq);
                CREATE TABLE IF NOT EXISTS counts (strand INTEGER PRIMARY KEY, backlog INTEGER NOT NULL);
                INSERT OR IGNORE INTO counts VALUES (0, 0), (1, 0);
                CREATE TABLE IF NOT EXISTS intents (id BLOB PRIMARY KEY, created INTEGER NOT NULL, data BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS dead_letters (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, id BLOB NOT NULL UNIQUE, strand INTEGER NOT NULL,
                    data BLOB NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL);
                """;
            setup.ExecuteNonQuery();
        }

        _connection = connection;
    }

    // Called under the lock.
    private void Insert(HelixReplayEntry entry, byte[] data)
    {
        // The capacity is an admission limit that Helix applies before it routes a write here (HelixReplayQueue.IsFull):
        // an entry whose write already ran on the other strand is stored beyond it, never refused.
        Open();
        using var transaction = _connection!.BeginTransaction();
        InsertEntry(entry, data, transaction);
        transaction.Commit();
        RefreshCounts();
    }

    private void InsertEntry(HelixReplayEntry entry, byte[] data, SqliteTransaction transaction)
    {
        using var insert = Command("INSERT OR IGNORE INTO entries (id, strand, priority, attempts, data) VALUES ($id, $strand, $priority, $attempts, $data)", transaction);
        insert.Parameters.AddWithValue("$id", entry.Id.ToByteArray());
        insert.Parameters.AddWithValue("$strand", (int)entry.Strand);
        insert.Parameters.AddWithValue("$priority", (int)entry.Priority);
        insert.Parameters.AddWithValue("$attempts", entry.Attempts);
        insert.Parameters.AddWithValue("$data", data);
        if (insert.ExecuteNonQuery() == 1)
        {
            Adjust((int)entry.Strand, +1, transaction);
        }
    }

    private DateTimeOffset Now() => (_context?.TimeProvider ?? TimeProvider.System).GetUtcNow();

    // Called under the lock, in a transaction.
    private void Remove(HelixReplayEntry entry, SqliteTransaction transaction)
    {
        using var delete = Command("DELETE FROM entries WHERE id = $id", transaction);
        delete.Parameters.AddWithValue("$id", entry.Id.ToByteArray());
        if (delete.ExecuteNonQuery() == 1)
        {
            Adjust((int)entry.Strand, -1, transaction);
            Interlocked.Decrement(ref _backlog[(int)entry.Strand]);
        }
    }

    private void Adjust(int strand, int delta, SqliteTransaction transaction)
    {
        using var update = Command("UPDATE counts SET backlog = backlog + $delta WHERE strand = $strand", transaction);
        update.Parameters.AddWithValue("$delta", delta);
        update.Parameters.AddWithValue("$strand", strand);
        update.ExecuteNonQuery();
    }

    private long Count(int strand, SqliteTransaction? transaction)
    {
        using var count = Command("SELECT backlog FROM counts WHERE strand = $strand", transaction);
        count.Parameters.AddWithValue("$strand", strand);
        return (long)(count.ExecuteScalar() ?? 0L);
    }

    private void RefreshCounts()
    {
        for (var strand = 0; strand < _backlog.Length; strand++)
        {
            Interlocked.Exchange(ref _backlog[strand], Count(strand, null));
        }
    }

    private SqliteCommand Command(string sql, SqliteTransaction? transaction = null)
    {
        var command = _connection!.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }
}
