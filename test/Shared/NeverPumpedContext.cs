namespace Helix.Data.Testing;

/// <summary>
/// A synchronization context whose posted work never runs, as on a UI thread (or a classic ASP.NET request) that is
/// blocked in a call: whatever that call waits for must not need the context, or it waits forever.
/// </summary>
internal sealed class NeverPumpedContext : SynchronizationContext
{
    private int _posted;

    /// <summary>Gets how many callbacks were posted to the context (none of them ran).</summary>
    public int Posted => Volatile.Read(ref _posted);

    /// <summary>
    /// Runs <paramref name="action"/> on a new thread whose synchronization context is a never-pumped one, and waits for it
    /// at most <paramref name="timeout"/>: whether it returned, what it threw, and how many callbacks it posted back.
    /// </summary>
    public static (bool Returned, Exception? Failure, int Posted) Run(Action action, TimeSpan timeout)
    {
        var context = new NeverPumpedContext();
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            SetSynchronizationContext(context);
            try
            {
                action();
            }
#pragma warning disable CA1031 // returned to the caller, which asserts on it
            catch (Exception e)
#pragma warning restore CA1031
            {
                failure = e;
            }
        });
        thread.Start();
        var returned = thread.Join(timeout);
        return (returned, failure, context.Posted);
    }

    public override void Post(SendOrPostCallback d, object? state) => Interlocked.Increment(ref _posted);

    public override void Send(SendOrPostCallback d, object? state) => throw new InvalidOperationException("Send on a blocked thread's context");
}
