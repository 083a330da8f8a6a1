namespace Helix.Data.IntegrationTests.Support;

/// <summary>Runs a fixture once with synchronous and once with asynchronous ADO.NET calls.</summary>
public enum SyncOrAsync
{
    Sync,
    Async,
}
