namespace Helix.Data.Benchmarks;

/// <summary>
/// A fixed number of reads or writes of one kind and nothing else (no clock, no output): what <c>eng/instructions.sh</c>
/// runs under valgrind's cachegrind, which counts the instructions they execute. Two runs of different lengths give the
/// instructions of one operation by difference, start-up and set-up cancelling out.
/// </summary>
internal static class OperationLoop
{
    /// <summary>The kinds, each with its baseline: a read against the plain provider's, a dual write against the hand-written one.</summary>
    public const string Kinds = "plain, helix, open-plain, open-helix (a read's open and close alone), write-plain (two plain connections, in turn), write-helix, and -async after any of them; ef-plain, ef-helix, ef-intercepted (EF Core point queries, a new context each; the last plain with a command and a connection interceptor that do nothing), ef-plain-pooled, ef-helix-pooled, ef-intercepted-pooled (contexts from a pool)";

    /// <summary>Runs the operations.</summary>
    /// <param name="kind">One of <see cref="Kinds"/>.</param>
    /// <param name="provider">The inner provider, as the benchmarks name it (<c>Sqlite</c>, <c>Null</c>, <c>Postgres</c>).</param>
    /// <param name="count">How many operations.</param>
    public static void Run(string kind, string provider, int count)
    {
        if (kind.StartsWith("ef-", StringComparison.Ordinal))
        {
            RunEfCore(kind, provider, count);
            return;
        }

        var reads = new ReadBenchmarks { Provider = provider };
        var writes = new WriteBenchmarks { Provider = provider };
        var isWrite = kind.StartsWith("write-", StringComparison.Ordinal);
        var isHelix = kind.Contains("helix", StringComparison.Ordinal);
        Action operation = kind switch // before the set-up: an unknown kind makes no databases
        {
            "plain" => () => reads.PlainSync(),
            "helix" => () => reads.HelixSync(),
            "plain-async" => () => reads.PlainAsync().GetAwaiter().GetResult(),
            "helix-async" => () => reads.HelixAsync().GetAwaiter().GetResult(),
            "open-plain" => reads.PlainOpenClose,
            "open-helix" => reads.HelixOpenClose,
            "open-plain-async" => () => reads.PlainOpenCloseAsync().GetAwaiter().GetResult(),
            "open-helix-async" => () => reads.HelixOpenCloseAsync().GetAwaiter().GetResult(),
            "write-plain" => () => writes.HandWrittenSequentialSync(),
            "write-helix" => () => writes.HelixSync(),
            "write-plain-async" => () => writes.HandWrittenWhenAllAsync().GetAwaiter().GetResult(),
            "write-helix-async" => () => writes.HelixAsync().GetAwaiter().GetResult(),
            _ => throw new ArgumentException($"Unknown kind '{kind}': {Kinds}.", nameof(kind)),
        };

        DapperBenchmarks benchmarks = isWrite ? writes : reads;
        benchmarks.SetupOneSide(isHelix);
        if (isWrite && isHelix)
        {
            // Whether a write offers its second strand to the thread pool follows how long the strand's writes take, and
            // under valgrind everything takes some fifty times longer: pinned to what the provider's writes do natively
            // (a Null write takes about a microsecond and runs its strands in turn; a SQLite write takes tens of
            // microseconds and is offered), or the count would follow the slowed clock.
            HelixDataSource.GetShared(writes.HelixConnectionString).OffloadThreshold =
                provider == "Null" ? TimeSpan.MaxValue : TimeSpan.Zero;
        }

        try
        {
            for (var i = 0; i < count; i++)
            {
                operation();
            }
        }
        finally
        {
            benchmarks.Cleanup();
        }
    }

    private static void RunEfCore(string kind, string provider, int count)
    {
        var benchmarks = new EfCoreBenchmarks { Provider = provider };
        Func<string> query = kind switch
        {
            "ef-plain" => benchmarks.PlainQuery,
            "ef-helix" => benchmarks.HelixQuery,
            "ef-intercepted" => benchmarks.InterceptedQuery,
            "ef-plain-pooled" => benchmarks.PlainPooledQuery,
            "ef-helix-pooled" => benchmarks.HelixPooledQuery,
            "ef-intercepted-pooled" => benchmarks.InterceptedPooledQuery,
            _ => throw new ArgumentException($"Unknown kind '{kind}': {Kinds}.", nameof(kind)),
        };

        benchmarks.Setup();
        try
        {
            for (var i = 0; i < count; i++)
            {
                _ = query();
            }
        }
        finally
        {
            benchmarks.Cleanup();
        }
    }
}
