// The Helix.Data chaos simulation: scenarios that stop, slow down and flap strands while workers write and read, then
// check that no acknowledged write was lost, that no read went back in time, and that the strands converged.
//
//   dotnet run -c Release --project samples/Simulation                          quick profile, every scenario (about a minute)
//   dotnet run -c Release --project samples/Simulation -- --profile soak        minutes per scenario
//   dotnet run -c Release --project samples/Simulation -- --scenario flapping --rounds 10 --out /tmp/sim
//
// Exit code 0 when every invariant held. The report (report.md) and a chart per scenario go to the output folder.
using Helix.Data.Simulation;

var options = SimulationOptions.Parse(args);
var report = await Simulator.RunAsync(options, Console.Out, CancellationToken.None);
return report.Passed ? 0 : 1;
