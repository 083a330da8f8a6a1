using System.Data;
using System.Data.Common;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// What running a statement on one strand produced: besides the value or error, how long the strand took (from getting
/// its connection to the result), the values of output parameters the strand set on its own copies (by parameter
/// index) and, for a batch, the rows each of its commands affected. A reader keeps its inner command (to release once
/// the reader closes). A failure says whether the statement reached the provider (<see cref="MayHaveApplied"/>),
/// whether the server then ended it itself with the connection whole (<see cref="ServerEnded"/>: a lock or statement
/// timeout, a deadlock, a command timeout whose cancellation the server confirmed), and whether that proves it had no
/// effect (<see cref="EndedWithoutEffect"/>: a command of one statement; SQLite and MySQL commit each statement of a
/// longer text on its own, so the error may concern the last one only). A strand a write run in order was not sent to,
/// because the strand before it ended it (<see cref="NotSentTo"/>), has that strand's result, marked <see cref="NotSent"/>.
/// </summary>
internal readonly record struct StrandResult(
    Strand Strand,
    object? Value,
    Exception? Error,
    HelixErrorKind Kind,
    bool Cancelled,
    DbCommand? Command,
    bool Detach,
    CommandBehavior Behavior,
    TimeSpan Elapsed = default,
    (int Index, object? Value)[]? Outputs = null,
    int[]? BatchCounts = null,
    bool MayHaveApplied = false,
    bool ServerEnded = false,
    bool EndedWithoutEffect = false,
    bool NotSent = false)
{
    public bool Succeeded => Error is null;

    /// <summary>
    /// Gets a value indicating whether a strand fault left the statement's outcome unknown: the fault came after the
    /// statement was handed to the provider (a connection lost while it ran, or before its answer arrived), so the
    /// strand may have applied it. A fault while getting the connection happened before anything was sent, and one the
    /// server ended itself says it did not apply it.
    /// </summary>
    public bool InDoubt => MayHaveApplied && !EndedWithoutEffect && !Succeeded && !Cancelled && Kind == HelixErrorKind.StrandFault;

    public static StrandResult Success(Strand strand, object? value, DbCommand? command, bool detach, CommandBehavior behavior, TimeSpan elapsed, (int Index, object? Value)[]? outputs = null, int[]? batchCounts = null) =>
        new(strand, value, null, default, false, command, detach, behavior, elapsed, outputs, batchCounts);

    /// <summary>
    /// The result of a strand a write was not sent to, because this strand, which ran it first, ended it without applying
    /// it (its provider refused it before sending it; in a transaction also: its server ended it, or the caller cancelled
    /// it): the same error, so that the caller gets the first strand's own exception, marked <see cref="NotSent"/>.
    /// </summary>
    public StrandResult NotSentTo(Strand strand) => this with { Strand = strand, MayHaveApplied = false, NotSent = true };

    public static StrandResult Failure(Strand strand, Exception error, HelixErrorKind kind, bool cancelled, bool mayHaveApplied, bool serverEnded = false, bool oneStatement = false) =>
        new(strand, null, error, kind, cancelled, null, false, default, MayHaveApplied: mayHaveApplied, ServerEnded: serverEnded, EndedWithoutEffect: serverEnded && oneStatement);
}
