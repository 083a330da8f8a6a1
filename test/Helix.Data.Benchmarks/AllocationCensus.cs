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

    /// <summary>Runs the census of every read, write and EF Core query benchmark against the plain provider's, and prints the tables.</summary>
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

            var ef = new EfCoreBenchmarks { Provider = provider };
            ef.Setup();
            Compare($"EF Core query, a new context each, {provider}", empty, () => ef.PlainQuery(), () => ef.HelixQuery());
            Compare($"EF Core query, pooled contexts, {provider}", empty, () => ef.PlainPooledQuery(), () => ef.HelixPooledQuery());
            ef.Cleanup();
        }
    }

    private static void Compare(string title, Dictionary<string, Census> empty, Action plain, Action helix)
    {
        var baseline = PerOperation(Count(plain), empty);
        var measured = PerOperation(Count(helix), empty);
        var (plainObjects, helixObjects) = (baseline.Values.Sum(c => c.Objects), measured.Values.Sum(c => c.Objects));
        var (plainBytes, helixBytes) = (baseline.Values.Sum(c => c.Bytes), measured.Values.Sum(c => c.Bytes));
        Console.WriteLine();
        Console.WriteLine($"### {title}");
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Objects per operation: plain {plainObjects:0.0}, Helix {helixObjects:0.0}, extra {helixObjects - plainObjects:0.0}; bytes: plain {plainBytes:0}, Helix {helixBytes:0}, extra {helixBytes - plainBytes:0}"));
        Console.WriteLine();
        Console.WriteLine("| type | plain | Helix | extra | extra bytes |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var type in baseline.Keys.Union(measured.Keys).OrderByDescending(t => Math.Abs(measured.GetValueOrDefault(t).Objects - baseline.GetValueOrDefault(t).Objects)).ThenBy(t => t, StringComparer.Ordinal))
        {
            var (b, m) = (baseline.GetValueOrDefault(type), measured.GetValueOrDefault(type));
            if (Math.Abs(m.Objects - b.Objects) >= 0.05 || Math.Abs(m.Bytes - b.Bytes) >= 1)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| `{type}` | {b.Objects:0.##} | {m.Objects:0.##} | {m.Objects - b.Objects:+0.##;-0.##;0} | {m.Bytes - b.Bytes:+0;-0;0} |"));
            }
        }
    }

    private static Dictionary<string, (double Objects, double Bytes)> PerOperation(Dictionary<string, Census> counts, Dictionary<string, Census> empty) =>
        counts.Select(c => (c.Key, Objects: (c.Value.Objects - empty.GetValueOrDefault(c.Key).Objects) / (double)Operations, Bytes: (c.Value.Bytes - empty.GetValueOrDefault(c.Key).Bytes) / (double)Operations))
            .Where(c => c.Objects >= 0.05)
            .ToDictionary(c => c.Key, c => (c.Objects, c.Bytes), StringComparer.Ordinal);

    private static Dictionary<string, Census> Count(Action operation)
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
            var counts = new Dictionary<string, Census>(StringComparer.Ordinal);
            foreach (var segment in runtime.Heap.Segments)
            {
                foreach (var obj in segment.EnumerateObjects())
                {
                    if (obj.IsFree || obj.Type is null || segment.GetGeneration(obj.Address) != Generation.Generation0)
                    {
                        continue;
                    }

                    var name = obj.Type.Name ?? "?";
                    var census = counts.GetValueOrDefault(name);
                    counts[name] = new(census.Objects + 1, census.Bytes + (long)obj.Size);
                }
            }

            return counts;
        }
        finally
        {
            File.Delete(dump);
        }
    }

    /// <summary>The objects of one type in generation 0, and their bytes.</summary>
    private readonly record struct Census(long Objects, long Bytes);
}
