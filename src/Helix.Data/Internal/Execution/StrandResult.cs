using System.Data;
using System.Data.Common;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// What running a statement on one strand produced: besides the value or error, how long the strand took (from getting
/// its connection to the result), the values of output parameters the strand set on its own copies (by parameter
/// index) and, for a batch, the rows each of its commands affected. A reader keeps its inner command (to release once
/// the reader closes).
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
    int[]? BatchCounts = null)
{
    public bool Succeeded => Error is null;

    public static StrandResult Success(Strand strand, object? value, DbCommand? command, bool detach, CommandBehavior behavior, TimeSpan elapsed, (int Index, object? Value)[]? outputs = null, int[]? batchCounts = null) =>
        new(strand, value, null, default, false, command, detach, behavior, elapsed, outputs, batchCounts);

    public static StrandResult Failure(Strand strand, Exception error, HelixErrorKind kind, bool cancelled) =>
        new(strand, null, error, kind, cancelled, null, false, default);
}
