using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;

namespace Helix.Data.Benchmarks;

/// <summary>
/// What the ADO.NET objects a Dapper query makes cost by themselves, made and disposed without touching a database:
/// the two Helix wrappers a query adds (a connection and a command) against the SQLite command every query makes
/// anyway. <c>DbConnection</c> and <c>DbCommand</c> derive from <c>Component</c>, which has a finalizer, so each one is
/// registered for finalization as it is allocated, wrapper or not.
/// </summary>
[MemoryDiagnoser]
public class WrapperBenchmarks
{
    private Stores? _stores;

    [GlobalSetup]
    public void Setup()
    {
        _stores = Stores.Create("Sqlite");
        using var warm = new HelixConnection(_stores.Helix);
    }

    [GlobalCleanup]
    public void Cleanup() => _stores?.Dispose();

    [Benchmark(Baseline = true)]
    public void SqliteCommand()
    {
        using var command = new SqliteCommand();
    }

    [Benchmark]
    public void HelixCommand()
    {
        using var command = new HelixCommand();
    }

    [Benchmark]
    public void HelixConnection()
    {
        using var connection = new HelixConnection(_stores!.Helix);
    }
}
