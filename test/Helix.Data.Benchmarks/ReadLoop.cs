namespace Helix.Data.Benchmarks;

/// <summary>
/// A fixed number of reads of one kind and nothing else (no clock, no output): what <c>eng/instructions.sh</c> runs
/// under valgrind's cachegrind, which counts the instructions they execute. Two runs of different lengths give the
/// instructions of one read by difference, start-up and set-up cancelling out.
/// </summary>
internal static class ReadLoop
{
    /// <summary>Runs the reads.</summary>
    /// <param name="kind"><c>plain</c> or <c>helix</c>, and <c>-async</c> for the asynchronous calls.</param>
    /// <param name="provider">The inner provider, as the benchmarks name it (<c>Sqlite</c>, <c>Null</c>, <c>Postgres</c>).</param>
    /// <param name="count">How many reads.</param>
    public static void Run(string kind, string provider, int count)
    {
        var reads = new ReadBenchmarks { Provider = provider };
        Func<Row> read = kind switch // before the set-up: an unknown kind makes no databases
        {
            "plain" => reads.PlainSync,
            "helix" => reads.HelixSync,
            "plain-async" => () => reads.PlainAsync().GetAwaiter().GetResult(),
            "helix-async" => () => reads.HelixAsync().GetAwaiter().GetResult(),
            _ => throw new ArgumentException($"Unknown kind '{kind}': plain, helix, plain-async or helix-async.", nameof(kind)),
        };

        reads.Setup();
        try
        {
            for (var i = 0; i < count; i++)
            {
                read();
            }
        }
        finally
        {
            reads.Cleanup();
        }
    }
}
