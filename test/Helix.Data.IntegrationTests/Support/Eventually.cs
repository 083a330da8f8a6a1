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
}
