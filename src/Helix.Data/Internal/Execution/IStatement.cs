using System.Data.Common;
using Helix.Data.Replay;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// What the engine runs on the strands: a <see cref="HelixCommand"/> (or a batch carried by one), or a native command of
/// another layer (EF Core's, in Helix.Data.EntityFrameworkCore). The engine decides where and how a statement runs; the
/// statement makes each strand's inner command, records itself for replay, and hands the result back to its caller.
/// </summary>
internal interface IStatement
{
    /// <summary>Gets the text for logs and divergence reports (the first command's, for a batch).</summary>
    string CommandText { get; }

    /// <summary>Gets a value indicating whether this is a batch: replayed as one atomic entry, and never offloaded.</summary>
    bool IsBatch { get; }

    /// <summary>Gets the time in seconds each strand (and a wait for a writable strand) may take; 0 for no limit.</summary>
    int CommandTimeout { get; }

    /// <summary>Gets a value indicating whether the statement was prepared: each strand prepares its inner command first.</summary>
    bool Prepared { get; }

    /// <summary>
    /// Gets a value indicating whether the statement changes the schema (EF Core's migrations, contract item 22). It runs
    /// primary first whatever the write strategy, so that every writer takes a migration's locks in one order (two writers
    /// could otherwise each hold one strand's lock and wait for the other's, a deadlock neither database can see); and a
    /// transaction that holds one commits on every strand or on none, since a schema change is not replayed blindly.
    /// </summary>
    bool IsSchemaChange { get; }

    /// <summary>
    /// Gets a value indicating whether the statement checks a concurrency token that each database generates on its own
    /// (PostgreSQL's <c>xmin</c>, in EF Core's writes; contract amendment 29). A token is one strand's, so one strand
    /// checks it, the first that runs the statement (<see cref="CheckOn"/>), and the others take the statement without the
    /// check; only the checking strand's answer may reach the caller. Such a statement runs in a transaction only, so
    /// that a check that fails rolls back what the other strands took.
    /// </summary>
    bool ChecksServerToken => false;

    /// <summary>
    /// Gets a value indicating whether the statement reads such a token: it goes to the strand that would check the token
    /// (the first healthy one, primary before secondary), not where the read strategy sends reads.
    /// </summary>
    bool ReadsServerToken => false;

    /// <summary>Names the strand that checks the token of a statement that <see cref="ChecksServerToken"/>, before it runs.</summary>
    void CheckOn(Strand strand)
    {
    }

    /// <summary>Gets a value indicating whether the caller set the statement's transaction.</summary>
    bool TransactionSet { get; }

    /// <summary>Gets the transaction that was open when the connection made the statement, until its transaction is set.</summary>
    HelixTransaction? CreatedIn { get; }

    /// <summary>
    /// Makes the strand's inner command on its open connection, tracked for cancellation: the caller's own parameter
    /// objects where <paramref name="useOriginals"/> allows and they are the strand's provider's (then
    /// <paramref name="detach"/> says they must be taken back), else copies; or the <paramref name="copies"/> made beforehand.
    /// </summary>
    DbCommand CreateInner(DbConnection connection, Strand strand, bool useOriginals, in Execution execution, DbParameter[]? copies, DbTransaction? transaction, out bool detach);

    /// <summary>The strand's own copies of the parameters, made now, for a strand run on another thread.</summary>
    DbParameter[] CopyParametersFor(Strand strand, in Execution execution);

    /// <summary>Reads what the strand set on its own copies of output parameters, and a batch's per-command row counts.</summary>
    ((int Index, object? Value)[]? Outputs, int[]? BatchCounts) CaptureOutputs(DbCommand inner);

    /// <summary>Releases an inner command: untracked, the caller's own parameters taken back, disposed.</summary>
    void Release(DbCommand inner, bool detach);

    /// <summary>
    /// Refuses, before anything runs, a statement with a value the queue could not store for a strand that misses it
    /// (nothing to refuse without a queue).
    /// </summary>
    void ThrowIfQueueCannotStore(HelixReplayQueue? queue);

    /// <summary>Captures the statement (or each command of a batch), as it runs now, for replay on the given strands.</summary>
    IEnumerable<RecordedStatement> Record(in Execution execution, IEnumerable<Strand> strands, int strandCount);

    /// <summary>Hands a successful result to the caller: output values set, a reader wrapped (and tracked until it closes).</summary>
    object? Deliver(in StrandResult result, Action<DbDataReader>? onReaderClosed);
}
