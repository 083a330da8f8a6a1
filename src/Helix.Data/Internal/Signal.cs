namespace Helix.Data.Internal;

/// <summary>An auto-reset event that can be awaited: <see cref="Set"/> wakes one pending or the next waiter.</summary>
internal sealed class Signal
{
    private readonly Lock _lock = new();
    private TaskCompletionSource? _waiter;
    private bool _set;

    public void Set()
    {
        TaskCompletionSource? toRelease;
        lock (_lock)
        {
            toRelease = _waiter;
            _waiter = null;
            _set = toRelease is null;
        }

        toRelease?.TrySetResult();
    }

    /// <summary>Waits until <see cref="Set"/> is called, the delay elapses or the token is cancelled.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        Task wait;
        lock (_lock)
        {
            if (_set)
            {
                _set = false;
                return;
            }

            _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _waiter.Task;
        }

        try
        {
            if (timeout == Timeout.InfiniteTimeSpan)
            {
                await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await wait.WaitAsync(timeout, timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            // the delay elapsed: that is one of the ways to wake up
        }
        finally
        {
            lock (_lock)
            {
                // A waiter that gave up must not swallow the next Set.
                if (_waiter?.Task == wait)
                {
                    _waiter = null;
                }
            }
        }
    }
}
