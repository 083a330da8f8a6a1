// Helix.Data benchmarks: see docs/performance.md for what each measures and the recorded results.
//   short run of everything (under 10 minutes on 2 cores):
//     dotnet run -c Release --project test/Helix.Data.Benchmarks -- --filter '*' --job short
//   objects allocated per operation, by type, Helix.Data against the plain provider:
//     dotnet run -c Release --project test/Helix.Data.Benchmarks -- --allocations [Sqlite] [Postgres]
//   reads and writes of one provider side by side in interleaved rounds (medians; steadier on a busy machine):
//     dotnet run -c Release --project test/Helix.Data.Benchmarks -- --interleaved [Sqlite] [Postgres]
//   reads through Helix and the plain provider in alternating pairs (the read target's figure on a noisy machine):
//     dotnet run -c Release --project test/Helix.Data.Benchmarks -- --paired [Sqlite] [Null] [Postgres] [--isolated]
//   (--isolated: each side with its own copies of Dapper and the provider, in a load context of its own)
//   EF Core queries through UseHelix and plain EF Core in alternating pairs, new and pooled contexts:
//     dotnet run -c Release --project test/Helix.Data.Benchmarks -- --paired-ef [Sqlite] [Postgres]
//   instructions one read executes, Helix.Data against the plain provider (valgrind's cachegrind; see eng/instructions.sh):
//     eng/instructions.sh [Null] [Sqlite]
//   tail latency of reads with one strand slow on 5 % of its reads, with and without Hedge After (PostgreSQL):
//     dotnet run -c Release --project test/Helix.Data.Benchmarks -- --hedging [reads] [workers]
//   HelixVerifier on a million-row table that differs in 10 rows (PostgreSQL):
//     dotnet run -c Release --project test/Helix.Data.Benchmarks -- --verify [rows]
// Benchmarks that need nats-server or PostgreSQL start them from the Debian packages (HELIX_BENCH_NATS_URL,
// HELIX_BENCH_PG_PRIMARY and HELIX_BENCH_PG_SECONDARY name running ones instead).
using BenchmarkDotNet.Running;
using Helix.Data.Benchmarks;

if (args is ["--allocations", .. var providers])
{
    AllocationCensus.Run(providers.Length == 0 ? ["Sqlite", "Postgres"] : providers);
    return;
}

if (args is ["--interleaved", .. var chosen])
{
    Interleaved.Run(chosen.Length == 0 ? ["Sqlite", "Postgres"] : chosen);
    return;
}

if (args is ["--paired", .. var paired])
{
    var isolated = paired.Contains("--isolated");
    paired = [.. paired.Where(a => a != "--isolated")];
    Interleaved.Paired(paired.Length == 0 ? ["Sqlite", "Null"] : paired, isolated);
    return;
}

if (args is ["--paired-ef", .. var pairedEf])
{
    Interleaved.PairedEfCore(pairedEf.Length == 0 ? ["Sqlite"] : pairedEf);
    return;
}

if (args is ["--hedging", .. var hedging])
{
    HedgingRun.Run(hedging.Length > 0 ? int.Parse(hedging[0], System.Globalization.CultureInfo.InvariantCulture) : 4000, hedging.Length > 1 ? int.Parse(hedging[1], System.Globalization.CultureInfo.InvariantCulture) : 4);
    return;
}

if (args is ["--verify", .. var verify])
{
    VerifyRun.Run(verify.Length > 0 ? int.Parse(verify[0], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);
    return;
}

if (args is ["--loop", var kind, var provider, var count])
{
    OperationLoop.Run(kind, provider, int.Parse(count, System.Globalization.CultureInfo.InvariantCulture));
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Servers).Assembly).Run(args);
