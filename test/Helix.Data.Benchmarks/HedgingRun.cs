using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Dapper;
using Npgsql;

namespace Helix.Data.Benchmarks;

/// <summary>
/// Tail latency of reads when one strand turns slow without failing (docs/performance.md, "Hedged reads"): the primary
/// PostgreSQL server answers 5 % of reads 200 ms late (a function that sleeps there and not on the secondary). In one
/// run: the plain provider's reads of the healthy strand (the baseline), Helix reading the primary without hedging,
/// and Helix with <c>Hedge After=Auto</c> and with a fixed delay. Percentiles of each read as the caller saw it.
/// </summary>
/// <remarks>Not a BenchmarkDotNet benchmark: a latency distribution over thousands of reads, not a mean.</remarks>
public static class HedgingRun
{
    private const int Rows = 1000;

    public static void Run(int reads, int workers)
    {
        var (primary, secondary) = Servers.PostgresDatabases;
        Prepare(primary, slow: true);
        Prepare(secondary, slow: false);
        var pooled = new NpgsqlConnectionStringBuilder { MaxPoolSize = 4 * workers }.ConnectionString;
        var helix = $"Helix;Provider=Npgsql;Primary=\"{primary};{pooled}\";Secondary=\"{secondary};{pooled}\";Preferred Strand=Primary;Name=hedging_bench";

        Console.WriteLine($"Hedged reads: {workers} workers, {reads} point reads each configuration after {reads / 4} to warm up; the primary answers 5 % of reads 200 ms late.");
        Console.WriteLine("| configuration | p50 ms | p95 ms | p99 ms | max ms | p99 ÷ healthy p99 | hedged |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        using var plain = NpgsqlDataSource.Create($"{secondary};{pooled}");
        var healthy = Measure("plain Npgsql, healthy strand (baseline)", () => plain.OpenConnectionAsync().AsTask().ContinueWith(t => (System.Data.Common.DbConnection)t.Result, TaskScheduler.Default), reads, workers, null);
        foreach (var (name, extra) in new[] { ("Helix, Hedge After=Off", string.Empty), ("Helix, Hedge After=Auto", ";Hedge After=Auto"), ("Helix, Hedge After=20", ";Hedge After=20") })
        {
            using var hedges = new HedgeCount();
            using var dataSource = HelixDataSource.Create(helix + extra);
            Measure(name, async () => await dataSource.OpenConnectionAsync(), reads, workers, healthy, hedges);
            if (dataSource.Hedging is { } hedging)
            {
                Console.WriteLine($"|   (delay at the end: primary {hedging.DelayFor(dataSource.Strands[0])?.TotalMilliseconds:0.00} ms, secondary {hedging.DelayFor(dataSource.Strands[1])?.TotalMilliseconds:0.00} ms) | | | | | | |");
            }
        }
    }

    private static double Measure(string name, Func<Task<System.Data.Common.DbConnection>> open, int reads, int workers, double? healthyP99, HedgeCount? hedges = null)
    {
        Read(open, reads / 4, workers); // warm-up: pools, the JIT, and Auto's window of recent reads
        var hedgedBefore = hedges?.Count ?? 0;
        var latencies = Read(open, reads, workers);
        Array.Sort(latencies);
        double P(double q) => latencies[(int)Math.Ceiling(q * latencies.Length) - 1];
        var ratio = healthyP99 is { } baseline ? (P(0.99) / baseline).ToString("0.00", CultureInfo.InvariantCulture) + "×" : "1";
        var hedged = hedges is null ? "–" : $"{hedges.Count - hedgedBefore} ({100.0 * (hedges.Count - hedgedBefore) / reads:0.0} %)";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {P(0.5):0.00} | {P(0.95):0.00} | {P(0.99):0.00} | {latencies[^1]:0.0} | {ratio} | {hedged} |"));
        return P(0.99);
    }

    private static double[] Read(Func<Task<System.Data.Common.DbConnection>> open, int reads, int workers)
    {
        var latencies = new double[reads];
        var next = -1;
        Task.WaitAll([.. Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            while (Interlocked.Increment(ref next) is var i && i < reads)
            {
                var started = Stopwatch.GetTimestamp();
                await using (var connection = await open())
                {
                    await connection.QuerySingleAsync<int>("SELECT v + maybe_pause() FROM t WHERE id = @id", new { id = random.Next(Rows) });
                }

                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }))]);
        return latencies;
    }

    private static void Prepare(string connectionString, bool slow)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        connection.Execute("DROP TABLE IF EXISTS t; CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL); INSERT INTO t SELECT g, g FROM generate_series(0, @last) g", new { last = Rows - 1 });
        connection.Execute(slow
            ? "CREATE OR REPLACE FUNCTION maybe_pause() RETURNS int LANGUAGE sql VOLATILE AS 'SELECT CASE WHEN random() < 0.05 THEN (SELECT 0 FROM pg_sleep(0.2)) ELSE 0 END'"
            : "CREATE OR REPLACE FUNCTION maybe_pause() RETURNS int LANGUAGE sql VOLATILE AS 'SELECT 0'");
    }

    /// <summary>Counts <c>helix.reads.hedged</c> of the benchmark's data source.</summary>
    private sealed class HedgeCount : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _count;

        public HedgeCount()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Helix.Data" && instrument.Name == "helix.reads.hedged")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
