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
    /// <summary>Returns the result of a task that ran synchronously; blocks only if a leaf went asynchronous by mistake.</summary>
    public static T Synchronously<T>(this ValueTask<T> task) => task.IsCompleted ? task.Result : task.AsTask().GetAwaiter().GetResult();

    /// <summary>Completes a task that ran synchronously; blocks only if a leaf went asynchronous by mistake.</summary>
    public static void Synchronously(this ValueTask task)
    {
        if (task.IsCompleted)
        {
            task.GetAwaiter().GetResult();
        }
        else
        {
            task.AsTask().GetAwaiter().GetResult();
        }
    }
}
