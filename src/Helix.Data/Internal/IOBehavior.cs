namespace Helix.Data.Internal;

/// <summary>
/// Selects synchronous or asynchronous I/O for one shared code path. In <see cref="Synchronous"/> mode every leaf calls
/// the inner provider's synchronous method, so the returned <see cref="ValueTask"/> has completed when it is returned
/// and reading its result does not block on asynchronous work.
/// </summary>
internal enum IOBehavior
{
    Synchronous,
    Asynchronous,
}

/// <summary>Reads the result of an operation run with <see cref="IOBehavior.Synchronous"/>.</summary>
internal static class SynchronousResult
{
    private static long _blockingFallbacks;

    /// <summary>
    /// Gets how many synchronous calls had to block on an operation that went asynchronous. It stays 0 unless a leaf
    /// ignores <see cref="IOBehavior.Synchronous"/>; the tests check that it does.
    /// </summary>
    public static long BlockingFallbacks => Interlocked.Read(ref _blockingFallbacks);

    /// <summary>Returns the result of a task that ran synchronously; blocks only if a leaf went asynchronous by mistake.</summary>
    public static T Synchronously<T>(this ValueTask<T> task)
    {
        if (task.IsCompleted)
        {
            return task.Result;
        }

        Interlocked.Increment(ref _blockingFallbacks);
        return task.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Completes a task that ran synchronously; blocks only if a leaf went asynchronous by mistake.</summary>
    public static void Synchronously(this ValueTask task)
    {
        if (task.IsCompleted)
        {
            task.GetAwaiter().GetResult();
            return;
        }

        Interlocked.Increment(ref _blockingFallbacks);
        task.AsTask().GetAwaiter().GetResult();
    }
}
