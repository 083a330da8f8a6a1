using System.Globalization;
using Helix.Data.Replay;
using Microsoft.Data.Sqlite;

namespace Helix.Data.FileReplay;

/// <summary>
/// The SQLite file behind a <see cref="FileReplayQueue"/>: its schema and every statement the queue runs on it. Not
/// thread-safe: the queue calls it under its lock. Each write is one transaction, committed to disk (WAL,
/// <c>synchronous=FULL</c>) before it returns.
/// </summary>
internal sealed class FileReplayStore(string path) : IDisposable
{
    private SqliteConnection? _connection;

    /// <summary>Opens the file, creating it and its tables when missing.</summary>
    public void Open()
    {
        if (_connection is not null)
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
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
                CREATE TABLE IF NOT EXISTS discarded (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, id BLOB NOT NULL, strand INTEGER NOT NULL, data BLOB NOT NULL,
                    reason TEXT NOT NULL, at TEXT NOT NULL, discard_reason TEXT NOT NULL, discarded_by TEXT NOT NULL, discarded_at TEXT NOT NULL);
                """;
            setup.ExecuteNonQuery();
        }

        _connection = connection;
    }

    /// <summary>How many entries wait for a strand, as the file counts them.</summary>
    public long Count(HelixStrand strand)
    {
        using var count = Command("SELECT backlog FROM counts WHERE strand = $strand");
        count.Parameters.AddWithValue("$strand", (int)strand);
        return (long)(count.ExecuteScalar() ?? 0L);
    }

    /// <summary>Stores entries (an entry already there, by id, is kept once).</summary>
    public void Insert(IEnumerable<(HelixReplayEntry Entry, byte[] Data)> entries) => InTransaction(transaction =>
    {
        foreach (var (entry, data) in entries)
        {
            InsertEntry(entry, data, transaction);
        }
    });

    /// <summary>The stored form and attempts of up to <paramref name="maxCount"/> entries of a strand and priority, oldest first.</summary>
    public List<(byte[] Data, int Attempts)> Read(HelixStrand strand, HelixReplayPriority priority, int maxCount)
    {
        using var command = Command("SELECT data, attempts FROM entries WHERE strand = $strand AND priority = $priority ORDER BY seq LIMIT $max");
        command.Parameters.AddWithValue("$strand", (int)strand);
        command.Parameters.AddWithValue("$priority", (int)priority);
        command.Parameters.AddWithValue("$max", maxCount);
        using var reader = command.ExecuteReader();
        var rows = new List<(byte[], int)>();
        while (reader.Read())
        {
            rows.Add(((byte[])reader.GetValue(0), reader.GetInt32(1)));
        }

        return rows;
    }

    /// <summary>Removes entries (applied ones) in one transaction.</summary>
    public void Remove(IEnumerable<HelixReplayEntry> entries) => InTransaction(transaction =>
    {
        foreach (var entry in entries)
        {
            RemoveEntry(entry, transaction);
        }
    });

    /// <summary>Keeps the attempts the worker counted on entries it gives back.</summary>
    public void UpdateAttempts(IEnumerable<HelixReplayEntry> entries) => InTransaction(transaction =>
    {
        foreach (var entry in entries)
        {
            using var update = Command("UPDATE entries SET attempts = $attempts WHERE id = $id", transaction);
            update.Parameters.AddWithValue("$attempts", entry.Attempts);
            update.Parameters.AddWithValue("$id", entry.Id.ToByteArray());
            update.ExecuteNonQuery();
        }
    });

    /// <summary>Removes every entry of a strand; returns how many there were.</summary>
    public long Discard(HelixStrand strand)
    {
        long discarded = 0;
        InTransaction(transaction =>
        {
            using var delete = Command("DELETE FROM entries WHERE strand = $strand", transaction);
            delete.Parameters.AddWithValue("$strand", (int)strand);
            discarded = delete.ExecuteNonQuery();
            using var reset = Command("UPDATE counts SET backlog = 0 WHERE strand = $strand", transaction);
            reset.Parameters.AddWithValue("$strand", (int)strand);
            reset.ExecuteNonQuery();
        });
        return discarded;
    }

    /// <summary>Moves an entry to the dead letters, with why and when.</summary>
    public void DeadLetter(HelixReplayEntry entry, byte[] data, string reason, DateTimeOffset at) => InTransaction(transaction =>
    {
        using (var insert = Command("INSERT OR IGNORE INTO dead_letters (id, strand, data, reason, at) VALUES ($id, $strand, $data, $reason, $at)", transaction))
        {
            insert.Parameters.AddWithValue("$id", entry.Id.ToByteArray());
            insert.Parameters.AddWithValue("$strand", (int)entry.Strand);
            insert.Parameters.AddWithValue("$data", data);
            insert.Parameters.AddWithValue("$reason", reason);
            insert.Parameters.AddWithValue("$at", at.ToString("O", CultureInfo.InvariantCulture));
            insert.ExecuteNonQuery();
        }

        RemoveEntry(entry, transaction);
    });

    /// <summary>The stored form, reason and time of up to <paramref name="maxCount"/> dead letters, oldest first.</summary>
    public List<(byte[] Data, string Reason, DateTimeOffset At)> ReadDeadLetters(int maxCount)
    {
        using var command = Command("SELECT data, reason, at FROM dead_letters ORDER BY seq LIMIT $max");
        command.Parameters.AddWithValue("$max", maxCount);
        using var reader = command.ExecuteReader();
        var letters = new List<(byte[], string, DateTimeOffset)>();
        while (reader.Read())
        {
            letters.Add(((byte[])reader.GetValue(0), reader.GetString(1), DateTimeOffset.Parse(reader.GetString(2), CultureInfo.InvariantCulture)));
        }

        return letters;
    }

    /// <summary>Moves a dead letter back into its strand's entries (after those waiting now), its attempts reset; false when there is none with that id.</summary>
    public bool RetryDeadLetter(Guid id, Func<byte[], HelixReplayEntry> deserialize)
    {
        var found = false;
        InTransaction(transaction =>
        {
            using var select = Command("SELECT data FROM dead_letters WHERE id = $id", transaction);
            select.Parameters.AddWithValue("$id", id.ToByteArray());
            if (select.ExecuteScalar() is not byte[] data)
            {
                return;
            }

            using var delete = Command("DELETE FROM dead_letters WHERE id = $id", transaction);
            delete.Parameters.AddWithValue("$id", id.ToByteArray());
            delete.ExecuteNonQuery();
            var entry = deserialize(data);
            entry.Attempts = 0;
            InsertEntry(entry, data, transaction);
            found = true;
        });
        return found;
    }

    /// <summary>Moves a dead letter to the audit table of discarded ones, with why, who and when; false when there is none with that id.</summary>
    public bool DiscardDeadLetter(Guid id, string reason, string by, DateTimeOffset at)
    {
        var found = false;
        InTransaction(transaction =>
        {
            using var move = Command(
                "INSERT INTO discarded (id, strand, data, reason, at, discard_reason, discarded_by, discarded_at) SELECT id, strand, data, reason, at, $why, $by, $when FROM dead_letters WHERE id = $id",
                transaction);
            move.Parameters.AddWithValue("$id", id.ToByteArray());
            move.Parameters.AddWithValue("$why", reason);
            move.Parameters.AddWithValue("$by", by);
            move.Parameters.AddWithValue("$when", at.ToString("O", CultureInfo.InvariantCulture));
            found = move.ExecuteNonQuery() == 1;
            using var delete = Command("DELETE FROM dead_letters WHERE id = $id", transaction);
            delete.Parameters.AddWithValue("$id", id.ToByteArray());
            delete.ExecuteNonQuery();
        });
        return found;
    }

    /// <summary>The audit records of discarded dead letters, oldest first.</summary>
    public List<(byte[] Data, string Reason, DateTimeOffset At, string Why, string By, DateTimeOffset When)> ReadDiscarded(int maxCount)
    {
        using var command = Command("SELECT data, reason, at, discard_reason, discarded_by, discarded_at FROM discarded ORDER BY seq LIMIT $max");
        command.Parameters.AddWithValue("$max", maxCount);
        using var reader = command.ExecuteReader();
        var records = new List<(byte[], string, DateTimeOffset, string, string, DateTimeOffset)>();
        while (reader.Read())
        {
            records.Add(((byte[])reader.GetValue(0), reader.GetString(1), Parse(reader.GetString(2)), reader.GetString(3), reader.GetString(4), Parse(reader.GetString(5))));
        }

        return records;

        static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
    }

    public void StoreIntent(Guid intentId, byte[] data, DateTimeOffset created)
    {
        using var insert = Command("INSERT OR REPLACE INTO intents (id, created, data) VALUES ($id, $created, $data)");
        insert.Parameters.AddWithValue("$id", intentId.ToByteArray());
        insert.Parameters.AddWithValue("$created", created.UtcTicks);
        insert.Parameters.AddWithValue("$data", data);
        insert.ExecuteNonQuery();
    }

    public void DeleteIntent(Guid intentId)
    {
        using var delete = Command("DELETE FROM intents WHERE id = $id");
        delete.Parameters.AddWithValue("$id", intentId.ToByteArray());
        delete.ExecuteNonQuery();
    }

    /// <summary>
    /// Turns intents recorded before <paramref name="olderThan"/> into entries, in one transaction: their entries are
    /// stored (<paramref name="entriesOf"/> reads one back into entries and their stored forms) and the intents removed.
    /// </summary>
    public int PromoteIntents(DateTimeOffset olderThan, Func<byte[], IEnumerable<(HelixReplayEntry Entry, byte[] Data)>> entriesOf)
    {
        var abandoned = new List<(byte[] Id, byte[] Data)>();
        InTransaction(transaction =>
        {
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
                foreach (var (entry, stored) in entriesOf(data))
                {
                    InsertEntry(entry, stored, transaction);
                }

                using var delete = Command("DELETE FROM intents WHERE id = $id", transaction);
                delete.Parameters.AddWithValue("$id", id);
                delete.ExecuteNonQuery();
            }
        });
        return abandoned.Count;
    }

    public void Dispose()
    {
        _connection?.Dispose();
        _connection = null;
    }

    private void InTransaction(Action<SqliteTransaction> body)
    {
        using var transaction = _connection!.BeginTransaction();
        body(transaction);
        transaction.Commit();
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

    private void RemoveEntry(HelixReplayEntry entry, SqliteTransaction transaction)
    {
        using var delete = Command("DELETE FROM entries WHERE id = $id", transaction);
        delete.Parameters.AddWithValue("$id", entry.Id.ToByteArray());
        if (delete.ExecuteNonQuery() == 1)
        {
            Adjust((int)entry.Strand, -1, transaction);
        }
    }

    private void Adjust(int strand, int delta, SqliteTransaction transaction)
    {
        using var update = Command("UPDATE counts SET backlog = backlog + $delta WHERE strand = $strand", transaction);
        update.Parameters.AddWithValue("$delta", delta);
        update.Parameters.AddWithValue("$strand", strand);
        update.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, SqliteTransaction? transaction = null)
    {
        var command = _connection!.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }
}
