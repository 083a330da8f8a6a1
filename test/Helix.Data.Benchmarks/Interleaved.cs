using System.Diagnostics;
using System.Globalization;

namespace Helix.Data.Benchmarks;

/// <summary>
/// Runs the read and write benchmarks of one provider side by side, in rounds: every round runs each variant for a
/// batch of operations, one variant after the other, so that a drift of the machine (the PostgreSQL servers share its
/// two cores, the disk flushes) falls on all variants alike instead of on whichever BenchmarkDotNet ran at that moment.
/// Prints, per variant, the median and quartiles over the rounds of the mean time of one operation.
/// Run: <c>dotnet run -c Release --project test/Helix.Data.Benchmarks -- --interleaved [Sqlite|Postgres]</c>.
/// </summary>
public static class Interleaved
{
    private const int Rounds = 40;
    private const int WarmupRounds = 5;

    /// <summary>Runs the comparison for each provider and prints one table per provider.</summary>
    /// <param name="providers">The providers (<c>Sqlite</c>, <c>Postgres</c>).</param>
    public static void Run(IReadOnlyList<string> providers)
    {
        foreach (var provider in providers)
        {
            var read = new ReadBenchmarks { Provider = provider };
            read.Setup();
            var write = new WriteBenchmarks { Provider = provider };
            write.Setup();
            var batch = provider switch { "Null" => 20_000, "Sqlite" => 500, "Postgres" => 100, _ => 30 };
            Measure($"{provider}, {Rounds - WarmupRounds} rounds of {batch} operations per variant", batch,
            [
                ("read, sync: plain", () => read.PlainSync()),
                ("read, sync: Helix", () => read.HelixSync()),
                ("read, async: plain", () => read.PlainAsync().GetAwaiter().GetResult()),
                ("read, async: Helix", () => read.HelixAsync().GetAwaiter().GetResult()),
                ("write, sync: plain, first", () => write.PlainFirstSync()),
                ("write, sync: plain, second", () => write.PlainSecondSync()),
                ("write, sync: hand-written, in turn", () => write.HandWrittenSequentialSync()),
                ("write, sync: hand-written, Parallel.Invoke", () => write.HandWrittenParallelSync()),
                ("write, sync: Helix", () => write.HelixSync()),
                ("write, async: plain, first", () => write.PlainFirstAsync().GetAwaiter().GetResult()),
                ("write, async: plain, second", () => write.PlainSecondAsync().GetAwaiter().GetResult()),
                ("write, async: hand-written, Task.WhenAll", () => write.HandWrittenWhenAllAsync().GetAwaiter().GetResult()),
                ("write, async: Helix", () => write.HelixAsync().GetAwaiter().GetResult()),
            ]);
            write.Cleanup();
            read.Cleanup();
        }
    }

    private static void Measure(string title, int batch, (string Name, Action Run)[] variants)
    {
        var samples = variants.Select(_ => new List<double>(Rounds)).ToArray();
        for (var round = 0; round < Rounds; round++)
        {
            for (var v = 0; v < variants.Length; v++)
            {
                var run = variants[v].Run;
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < batch; i++)
                {
                    run();
                }

                if (round >= WarmupRounds)
                {
                    samples[v].Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds / batch);
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine(title);
        Console.WriteLine("| variant | median | 25th–75th percentile |");
        Console.WriteLine("|---|---:|---:|");
        for (var v = 0; v < variants.Length; v++)
        {
            var sorted = samples[v].Order().ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {variants[v].Name} | {sorted[sorted.Length / 2]:F1} µs | {sorted[sorted.Length / 4]:F1}–{sorted[3 * sorted.Length / 4]:F1} µs |"));
        }
    }
}
