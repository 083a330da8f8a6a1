using System.Data.Common;

namespace Helix.Data;

/// <summary>
/// The exception Helix.Data raises when no strand could carry out a command: both strands had strand faults, no strand
/// was available, or a write could not be recorded for replay.
/// </summary>
/// <remarks>
/// When the strands answered and agree that a statement is wrong (a syntax error, a unique violation), the caller sees
/// the inner provider's own exception instead, unchanged, so existing <c>catch</c> clauses keep working.
/// </remarks>
public class HelixException : DbException
{
    /// <summary>Initializes a new instance of the <see cref="HelixException"/> class.</summary>
    public HelixException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="HelixException"/> class with a message.</summary>
    /// <param name="message">The message that describes the error.</param>
    public HelixException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="HelixException"/> class with a message and a cause.</summary>
    /// <param name="message">The message that describes the error.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public HelixException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="HelixException"/> class with the errors of both strands.</summary>
    /// <param name="message">The message that describes the error.</param>
    /// <param name="primaryException">What the primary strand raised, if it was attempted.</param>
    /// <param name="secondaryException">What the secondary strand raised, if it was attempted.</param>
    /// <param name="isTransient">Whether retrying the operation later may succeed.</param>
    public HelixException(string message, Exception? primaryException, Exception? secondaryException, bool isTransient)
        : base(message, Combine(primaryException, secondaryException))
    {
        PrimaryException = primaryException;
        SecondaryException = secondaryException;
        _isTransient = isTransient;
    }

    private readonly bool _isTransient;

    /// <summary>Gets what the primary strand raised, or <see langword="null"/> when it was not attempted or did not fail.</summary>
    public Exception? PrimaryException { get; }

    /// <summary>Gets what the secondary strand raised, or <see langword="null"/> when it was not attempted or did not fail.</summary>
    public Exception? SecondaryException { get; }

    /// <summary>
    /// Gets a value indicating whether the write may have been applied although no strand acknowledged it: a strand's
    /// connection was lost after the statement was sent (contract section 5). Helix then replays the write on every
    /// strand, so that they agree it was applied; retry it only if it is idempotent (the <c>helix_ts</c> upsert is).
    /// </summary>
    public bool IsOutcomeUnknown { get; init; }

    /// <summary>
    /// Gets a value that says whether retrying may succeed: <see langword="true"/> when the strands could not be reached
    /// (they may come back), <see langword="false"/> for errors that a retry cannot fix.
    /// </summary>
    public override bool IsTransient => _isTransient;

    private static Exception? Combine(Exception? primary, Exception? secondary) => (primary, secondary) switch
    {
        (null, null) => null,
        (not null, null) => primary,
        (null, not null) => secondary,
        _ => new AggregateException(primary, secondary),
    };
}
