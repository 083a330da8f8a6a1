// Helix.Data quick start: two SQLite files as strands, Dapper on top, one strand taken down and brought back.
// Run it with: dotnet run --project samples/QuickStart
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Helix.Data;
using Microsoft.Data.Sqlite;

var folder = Directory.CreateTempSubdirectory("helix-quickstart-").FullName;
var primaryFile = Path.Combine(folder, "primary.db");
var secondaryFile = Path.Combine(folder, "secondary.db");

// Each strand is an independent database. "Default Timeout=1" makes a locked SQLite file fail after one second.
string Inner(string file) => $"Data Source={file};Default Timeout=1";
var connectionString =
    $"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{Inner(primaryFile)}\";Secondary=\"{Inner(secondaryFile)}\";Preferred Strand=Primary";

foreach (var file in new[] { primaryFile, secondaryFile })
{
    using var setup = new SqliteConnection(Inner(file));
    setup.Execute("CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL, visits INTEGER NOT NULL, updated_at TEXT NOT NULL)");
}

Console.WriteLine($"Strands: {primaryFile}");
Console.WriteLine($"         {secondaryFile}");

await using var connection = new HelixConnection(connectionString);
var dataSource = connection.HelixDataSource!;

// Keys come from the client (UUIDv7), never from the databases: the two strands must agree on them.
var ids = Enumerable.Range(0, 20).Select(_ => Guid.CreateVersion7()).ToArray();
const string Upsert = """
    INSERT INTO users (id, name, visits, updated_at) VALUES (@Id, @Name, @Visits, @UpdatedAt)
    ON CONFLICT (id) DO UPDATE SET name = excluded.name, visits = excluded.visits, updated_at = excluded.updated_at
    """;
var visits = new int[ids.Length];
async Task WriteRoundAsync(int round)
{
    for (var i = 0; i < ids.Length; i++)
    {
        visits[i] = round;
        await connection.ExecuteAsync(Upsert, new { Id = ids[i].ToString(), Name = $"user-{i}", Visits = visits[i], UpdatedAt = DateTimeOffset.UtcNow.ToString("O") });
    }
}

await WriteRoundAsync(1);
Console.WriteLine($"1. Wrote {ids.Length} users through Dapper to both strands.");

await connection.OpenAsync();
for (var i = 0; i < 3; i++)
{
    await using var command = connection.CreateCommand();
    command.CommandText = "SELECT count(*) FROM users";
    await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.Default);
    await reader.ReadAsync();
    Console.WriteLine($"2. Read {reader.GetInt64(0)} users from the {reader.Strand.ToString().ToLowerInvariant()} strand (sticky).");
}

await connection.CloseAsync();

// Take the secondary down for real: another connection holds an exclusive lock on its file.
var blocker = new SqliteConnection(Inner(secondaryFile));
blocker.Open();
blocker.Execute("BEGIN EXCLUSIVE");
Console.WriteLine("3. Secondary strand is down (its file is locked by another connection).");

await WriteRoundAsync(2);
await WriteRoundAsync(3);
var down = dataSource.GetStatus()[HelixStrand.Secondary];
Console.WriteLine($"4. Kept writing: {2 * ids.Length} more writes acknowledged. Secondary is {down.State}, {down.Backlog} writes wait for replay.");

blocker.Execute("ROLLBACK");
blocker.Dispose();
using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
{
    await dataSource.WaitForReplayAsync(timeout.Token);
}

Console.WriteLine($"5. Secondary is back and caught up: {dataSource.GetStatus()[HelixStrand.Secondary].State}, {dataSource.GetStatus().ReplayApplied} writes replayed in order.");

foreach (var (name, file) in new[] { ("primary", primaryFile), ("secondary", secondaryFile) })
{
    using var check = new SqliteConnection(Inner(file));
    var rows = check.Query<(string Id, string Name, long Visits, string UpdatedAt)>("SELECT id, name, visits, updated_at FROM users ORDER BY id").ToList();
    var checksum = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", rows))))[..16];
    Console.WriteLine($"6. {name,-9}: {rows.Count} rows, visits total {rows.Sum(r => r.Visits)}, checksum {checksum}");
}

await dataSource.DisposeAsync();
SqliteConnection.ClearAllPools();
Directory.Delete(folder, recursive: true);
