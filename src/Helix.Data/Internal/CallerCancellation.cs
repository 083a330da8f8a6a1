namespace Helix.Data.Internal;

/// <summary>Tells the caller's own cancellation from a provider's cancellation of its own (an internal timeout).</summary>
internal static class CallerCancellation
{
    /// <summary>
    /// Whether <paramref name="error"/> is the caller's cancellation: an <see cref="OperationCanceledException"/> for the
    /// caller's token (or for none), which the caller cancelled. One a provider raises for a token of its own is the
    /// strand's fault, even if the caller happened to cancel too.
    /// </summary>
    public static bool Is(Exception error, CancellationToken cancellationToken) =>
        error is OperationCanceledException canceled && cancellationToken.IsCancellationRequested
        && (canceled.CancellationToken == cancellationToken || !canceled.CancellationToken.CanBeCanceled);
}
