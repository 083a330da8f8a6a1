namespace Helix.Data.Replay;

/// <summary>
/// A write (or a whole transaction) that one strand missed, queued to be applied to that strand later, in order.
/// </summary>
public sealed class HelixReplayEntry
{
    /// <summary>Initializes a new instance of the <see cref="HelixReplayEntry"/> class.</summary>
    /// <param name="id">A unique id; durable queues de-duplicate by it.</param>
    /// <param name="strand">The strand the entry must be applied to.</param>
    /// <param name="timestamp">The write timestamp (microseconds since the Unix epoch) bound to <c>helix_ts</c>.</param>
    /// <param name="createdAt">When the entry was made.</param>
    /// <param name="priority">The entry's priority.</param>
    /// <param name="statements">The statements, in order.</param>
    /// <param name="isTransaction">Whether the statements must be applied atomically, in one transaction.</param>
    /// <param name="error">Why the strand missed the write, without secrets; <see langword="null"/> when it was not attempted.</param>
    /// <param name="attempts">How many times applying it failed with a statement error.</param>
    public HelixReplayEntry(
        Guid id,
        HelixStrand strand,
        long timestamp,
        DateTimeOffset createdAt,
        HelixReplayPriority priority,
        IReadOnlyList<HelixReplayStatement> statements,
        bool isTransaction,
        string? error,
        int attempts = 0)
    {
        ArgumentNullException.ThrowIfNull(statements);
        if (statements.Count == 0)
        {
            throw new ArgumentException("A replay entry needs at least one statement.", nameof(statements));
        }

        Id = id;
        Strand = strand;
        Timestamp = timestamp;
        CreatedAt = createdAt;
        Priority = priority;
        Statements = statements;
        IsTransaction = isTransaction;
        Error = error;
        Attempts = attempts;
    }

    /// <summary>Gets the unique id of the entry.</summary>
    public Guid Id { get; }

    /// <summary>Gets the strand the entry must be applied to.</summary>
    public HelixStrand Strand { get; }

    /// <summary>Gets the write timestamp, in microseconds since the Unix epoch, bound to <c>helix_ts</c>.</summary>
    public long Timestamp { get; }

    /// <summary>Gets when the entry was made.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>Gets the entry's priority.</summary>
    public HelixReplayPriority Priority { get; }

    /// <summary>Gets the statements, in order.</summary>
    public IReadOnlyList<HelixReplayStatement> Statements { get; }

    /// <summary>Gets a value indicating whether the statements are applied atomically, in one transaction.</summary>
    public bool IsTransaction { get; }

    /// <summary>Gets why the strand missed the write, without secrets.</summary>
    public string? Error { get; }

    /// <summary>Gets how many times applying the entry failed with a statement error.</summary>
    public int Attempts { get; internal set; }

    /// <inheritdoc />
    public override string ToString() =>
        $"replay entry {Id} for {Strand}: {Statements.Count} statement(s), first: {Statements[0].CommandText}";
}
