using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Runtime;

namespace Helix.Data.Benchmarks;

/// <summary>
/// Counts the objects one operation allocates, by type, exactly: BenchmarkDotNet reports bytes, the targets speak of
/// allocations. After a full collection the operation runs <see cref="Operations"/> times inside a no-GC region, so
/// every object it made is still in generation 0; the process then dumps itself and ClrMD counts that generation.
/// Run: <c>dotnet run -c Release --project test/Helix.Data.Benchmarks -- --allocations [Sqlite|Postgres]</c>.
/// </summary>
public static class AllocationCensus
{
    private const int Operations = 2_000;

    /// <summary>Runs the census of every read and write benchmark against the plain provider's, and prints the tables.</summary>
    /// <param name="providers">The providers to count (<c>Sqlite</c>, <c>Postgres</c>).</param>
    public static void Run(IReadOnlyList<string> providers)
    {
        var empty = Count(static () => { });
        foreach (var provider in providers)
        {
            var read = new ReadBenchmarks { Provider = provider };
            read.Setup();
            Compare($"Read, sync, {provider}", empty, () => read.PlainSync(), () => read.HelixSync());
            Compare($"Read, async, {provider}", empty, () => read.PlainAsync().GetAwaiter().GetResult(), () => read.HelixAsync().GetAwaiter().GetResult());
            read.Cleanup();

            var write = new WriteBenchmarks { Provider = provider };
            write.Setup();
            Compare($"Write, sync, {provider} (baseline: the same insert on two plain connections, one after the other)", empty, () => write.HandWrittenSequentialSync(), () => write.HelixSync());
            Compare($"Write, async, {provider} (baseline: the same insert on two plain connections with Task.WhenAll)", empty, () => write.HandWrittenWhenAllAsync().GetAwaiter().GetResult(), () => write.HelixAsync().GetAwaiter().GetResult());
            write.Cleanup();
        }
    }

    private static void Compare(string title, Dictionary<string, long> empty, Action plain, Action helix)
    {
        var baseline = PerOperation(Count(plain), empty);
        var measured = PerOperation(Count(helix), empty);
        Console.WriteLine();
        Console.WriteLine($"### {title}");
        Console.WriteLine();
        Console.WriteLine($"Objects per operation: plain {baseline.Values.Sum():0.0}, Helix {measured.Values.Sum():0.0}, extra {measured.Values.Sum() - baseline.Values.Sum():0.0}");
        Console.WriteLine();
        Console.WriteLine("| type | plain | Helix | extra |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var type in baseline.Keys.Union(measured.Keys).OrderByDescending(t => Math.Abs(measured.GetValueOrDefault(t) - baseline.GetValueOrDefault(t))).ThenBy(t => t, StringComparer.Ordinal))
        {
            var (b, m) = (baseline.GetValueOrDefault(type), measured.GetValueOrDefault(type));
            if (Math.Abs(m - b) >= 0.05)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| `{type}` | {b:0.##} | {m:0.##} | {m - b:+0.##;-0.##} |"));
            }
        }
    }

    private static Dictionary<string, double> PerOperation(Dictionary<string, long> counts, Dictionary<string, long> empty) =>
        counts.Select(c => (c.Key, PerOp: (c.Value - empty.GetValueOrDefault(c.Key)) / (double)Operations))
            .Where(c => c.PerOp >= 0.05)
            .ToDictionary(c => c.Key, c => c.PerOp, StringComparer.Ordinal);

    private static Dictionary<string, long> Count(Action operation)
    {
        for (var i = 0; i < 200; i++)
        {
            operation(); // warm: pools filled, statements prepared, caches built
        }

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var dump = Path.Combine(Path.GetTempPath(), $"helix-census-{Environment.ProcessId}.dmp");
        if (!GC.TryStartNoGCRegion(200_000_000))
        {
            throw new InvalidOperationException("The runtime refused a no-GC region.");
        }

        try
        {
            for (var i = 0; i < Operations; i++)
            {
                operation();
            }

            new DiagnosticsClient(Environment.ProcessId).WriteDump(DumpType.WithHeap, dump, logDumpGeneration: false);
        }
        finally
        {
            if (System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
            }
        }

        try
        {
            using var target = DataTarget.LoadDump(dump);
            // The DAC of the runtime that made the dump: this very one.
            var dac = Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "libmscordaccore.so");
            using var runtime = target.ClrVersions[0].CreateRuntime(dac, ignoreMismatch: true);
            var counts = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var segment in runtime.Heap.Segments)
            {
                foreach (var obj in segment.EnumerateObjects())
                {
                    if (obj.IsFree || obj.Type is null || segment.GetGeneration(obj.Address) != Generation.Generation0)
                    {
                        continue;
                    }

                    var name = obj.Type.Name ?? "?";
                    counts[name] = counts.GetValueOrDefault(name) + 1;
                }
            }

            return counts;
        }
        finally
        {
            File.Delete(dump);
        }
    }
}
