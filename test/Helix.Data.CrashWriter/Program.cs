// Writes rows through Helix with the connection string it is given, and prints "ACK <id>" after each write the
// data source acknowledged, until it is killed. The crash tests kill it with SIGKILL mid-run.
using Dapper;
using Helix.Data;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Helix.Data.CrashWriter <helix connection string>");
    return 2;
}

await using var dataSource = HelixDataSource.Create(args[0]);
var stdout = Console.Out;
for (var id = 0; ; id++)
{
    await using var connection = await dataSource.OpenConnectionAsync();
    await connection.ExecuteAsync(
        "INSERT INTO crash (id, v, version) VALUES (@id, @v, @helix_ts) ON CONFLICT (id) DO UPDATE SET v = excluded.v, version = excluded.version WHERE crash.version < excluded.version",
        new { id, v = $"value {id}" });
    await stdout.WriteLineAsync($"ACK {id}");
    await stdout.FlushAsync();
}
