namespace Helix.Data.IntegrationTests.Support;

/// <summary>Bounded waits for a condition that background work makes true, with a clear failure message.</summary>
internal static class Eventually
{
    public static async Task UntilAsync(Func<bool> condition, Func<string> what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds} s waiting until {what()}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Waits until an asynchronous condition holds, bounded in time.</summary>
    public static async Task ThatAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds} s waiting until {what}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Runs an action until it succeeds (the last failure is reported), bounded in time.</summary>
    public static async Task SucceedsAsync(Func<Task> action, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                await action();
                return;
            }
            catch (Exception e) when (DateTime.UtcNow < deadline && e is not AssertionException)
            {
                await Task.Delay(100);
            }
            catch (Exception e) when (e is not AssertionException)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds} s waiting until {what}; last error: {e.GetType().Name}: {e.Message}");
            }
        }
    }
}
