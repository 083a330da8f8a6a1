// Helix.Data benchmarks. Short run of everything (a few minutes on 2 cores):
//   dotnet run -c Release --project test/Helix.Data.Benchmarks -- --filter '*' --job short
// Benchmarks that need nats-server start it from the Debian package (HELIX_BENCH_NATS_URL names a running one instead).
// Results and what they mean: docs/performance.md.
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Helix.Data.Benchmarks.Servers).Assembly).Run(args);
