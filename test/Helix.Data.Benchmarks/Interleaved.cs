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

    /// <summary>
    /// Runs plain and Helix reads of each provider in pairs, one operation each, alternating which goes first: a drift of
    /// the machine, even within a round, falls on both alike. Prints, for sync and async reads, the median and quartiles
    /// over the rounds of Helix's time divided by the plain provider's: of each round's total, and of each round's median
    /// operation (which a collection or a preemption landing on one side's operations does not move).
    /// Run: <c>dotnet run -c Release --project test/Helix.Data.Benchmarks -- --paired [Sqlite|Postgres|Null] [--isolated]</c>.
    /// </summary>
    /// <param name="providers">The providers.</param>
    /// <param name="isolated">Whether each side runs in a load context of its own (<see cref="IsolatedSide"/>), instead of both
    /// through the same copies of Dapper and the provider, whose call sites then see both sides' types.</param>
    public static void Paired(IReadOnlyList<string> providers, bool isolated = false)
    {
        foreach (var provider in providers)
        {
            if (isolated && provider.StartsWith("Postgres", StringComparison.Ordinal))
            {
                // One pair of servers for both sides, started here: each side's own copy of Servers takes them from these
                // variables instead of starting two more on the same two cores.
                var (primary, secondary) = Servers.PostgresDatabases;
                Environment.SetEnvironmentVariable("HELIX_BENCH_PG_PRIMARY", primary);
                Environment.SetEnvironmentVariable("HELIX_BENCH_PG_SECONDARY", secondary);
            }

            using var plain = isolated ? new IsolatedSide(provider, helix: false) : null;
            using var helix = isolated ? new IsolatedSide(provider, helix: true) : null;
            var read = isolated ? null : new ReadBenchmarks { Provider = provider };
            read?.Setup();
            var (plainSync, helixSync, plainAsync, helixAsync) = read is null
                ? (plain!.Sync, helix!.Sync, plain.Async, helix.Async)
                : (() => read.PlainSync(), () => read.HelixSync(), () => read.PlainAsync(), () => read.HelixAsync());
            var pairs = provider switch { "Null" => 20_000, "Sqlite" => 2_000, _ => 200 };
            Console.WriteLine();
            Console.WriteLine($"{provider}: reads, {Rounds - WarmupRounds} rounds of {pairs} pairs (plain and Helix alternating, each first in turn; {(isolated ? "each side in its own load context" : "both through the same Dapper")})");
            Console.WriteLine("| call | plain, median | Helix, median | Helix ÷ plain, median of rounds | 25th–75th percentile | median operation: Helix ÷ plain, median of rounds | 25th–75th percentile |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
            ComparePairs("sync", pairs, () => plainSync(), () => helixSync());
            ComparePairs("async", pairs, () => plainAsync().GetAwaiter().GetResult(), () => helixAsync().GetAwaiter().GetResult());
            read?.Cleanup();
        }
    }

    /// <summary>
    /// Runs EF Core point queries through plain EF Core and through <c>UseHelix</c> in alternating pairs, as
    /// <see cref="Paired"/> runs reads: with a new context per query and with pooled contexts; then against plain EF Core
    /// with a command and a connection interceptor that do nothing (what EF itself spends on a context with interceptors).
    /// Run: <c>dotnet run -c Release --project test/Helix.Data.Benchmarks -- --paired-ef [Sqlite|Postgres]</c>.
    /// </summary>
    /// <param name="providers">The providers.</param>
    public static void PairedEfCore(IReadOnlyList<string> providers)
    {
        foreach (var provider in providers)
        {
            var ef = new EfCoreBenchmarks { Provider = provider };
            ef.Setup();
            var pairs = provider == "Sqlite" ? 1_000 : 200;
            Console.WriteLine();
            Console.WriteLine($"{provider}: EF Core queries, {Rounds - WarmupRounds} rounds of {pairs} pairs (plain EF Core and UseHelix alternating, each first in turn)");
            Console.WriteLine("| context | plain, median | Helix, median | Helix ÷ plain, median of rounds | 25th–75th percentile | median operation: Helix ÷ plain, median of rounds | 25th–75th percentile |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
            ComparePairs("a new context each", pairs, () => ef.PlainQuery(), () => ef.HelixQuery());
            ComparePairs("pooled", pairs, () => ef.PlainPooledQuery(), () => ef.HelixPooledQuery());
            ComparePairs("new, against no-op interceptors", pairs, () => ef.InterceptedQuery(), () => ef.HelixQuery());
            ComparePairs("pooled, against no-op interceptors", pairs, () => ef.InterceptedPooledQuery(), () => ef.HelixPooledQuery());
            ef.Cleanup();
        }
    }

    private static void ComparePairs(string call, int pairs, Action plain, Action helix)
    {
        var (plainTimes, helixTimes, ratios, typicalRatios) = (new List<double>(Rounds), new List<double>(Rounds), new List<double>(Rounds), new List<double>(Rounds));
        var (plainOperations, helixOperations) = (new long[pairs], new long[pairs]);
        for (var round = 0; round < Rounds; round++)
        {
            long plainTicks = 0, helixTicks = 0;
            for (var i = 0; i < pairs; i++)
            {
                var (first, second) = i % 2 == 0 ? (plain, helix) : (helix, plain);
                var started = Stopwatch.GetTimestamp();
                first();
                var between = Stopwatch.GetTimestamp();
                second();
                var ended = Stopwatch.GetTimestamp();
                (plainOperations[i], helixOperations[i]) = i % 2 == 0 ? (between - started, ended - between) : (ended - between, between - started);
                plainTicks += plainOperations[i];
                helixTicks += helixOperations[i];
            }

            if (round >= WarmupRounds)
            {
                plainTimes.Add(Stopwatch.GetElapsedTime(0, plainTicks).TotalMicroseconds / pairs);
                helixTimes.Add(Stopwatch.GetElapsedTime(0, helixTicks).TotalMicroseconds / pairs);
                ratios.Add((double)helixTicks / plainTicks);

                // The typical operation: a collection or a preemption lands on one operation of a pair, whichever side
                // it is, and moves the round's sum by more than Helix's difference; the medians leave those out.
                Array.Sort(plainOperations);
                Array.Sort(helixOperations);
                typicalRatios.Add((double)helixOperations[pairs / 2] / plainOperations[pairs / 2]);
            }
        }

        var sorted = ratios.Order().ToArray();
        var typical = typicalRatios.Order().ToArray();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {call} | {Median(plainTimes):F2} µs | {Median(helixTimes):F2} µs | {sorted[sorted.Length / 2]:F3} | {sorted[sorted.Length / 4]:F3}–{sorted[3 * sorted.Length / 4]:F3} | {typical[typical.Length / 2]:F3} | {typical[typical.Length / 4]:F3}–{typical[3 * typical.Length / 4]:F3} |"));

        static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
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
