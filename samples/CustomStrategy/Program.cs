// Helix.Data custom strategy sample: reads follow the faster strand, with a strategy written in a few dozen lines.
// Run it with: dotnet run --project samples/CustomStrategy
using CustomStrategy;
using Dapper;
using Helix.Data;
using Microsoft.Data.Sqlite;

var folder = Directory.CreateTempSubdirectory("helix-custom-strategy-").FullName;
string Inner(string name) => $"Data Source={Path.Combine(folder, name)};Default Timeout=5;Pooling=True";
foreach (var name in new[] { "primary.db", "secondary.db" })
{
    using var setup = new SqliteConnection(Inner(name));
    setup.Execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
    setup.Execute("INSERT INTO products (id, name) VALUES (@id, @name)", Enumerable.Range(1, 100).Select(i => new { id = i, name = $"product {i}" }));
}

var strategy = new FastestStrandReadStrategy { ExploreEvery = 20 };
await using var dataSource = new HelixDataSourceBuilder($"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{Inner("primary.db")}\";Secondary=\"{Inner("secondary.db")}\"")
    .UseReadStrategy(strategy)
    .Build();

// Reads for a while, a few milliseconds apart, and tells which strand served them.
async Task ReadAsync(string phase, TimeSpan duration)
{
    var served = new Dictionary<HelixStrand, int> { [HelixStrand.Primary] = 0, [HelixStrand.Secondary] = 0 };
    var until = DateTime.UtcNow + duration;
    while (DateTime.UtcNow < until)
    {
        await Task.Delay(2);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM products WHERE id = 42";
        await using var reader = (HelixDataReader)await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        served[reader.Strand]++;
    }

    Console.WriteLine($"{phase,-33} primary {served[HelixStrand.Primary],3} reads, secondary {served[HelixStrand.Secondary],3} reads"
        + $"   (estimates: primary {strategy.EstimateMs(HelixStrand.Primary):0.00} ms, secondary {strategy.EstimateMs(HelixStrand.Secondary):0.00} ms)");
}

await ReadAsync("1. Both strands fast:", TimeSpan.FromSeconds(1.5));

// A noisy neighbour: another connection holds the secondary's file locked most of the time, so reads there wait.
using var stop = new CancellationTokenSource();
var neighbour = Task.Run(async () =>
{
    using var busy = new SqliteConnection(Inner("secondary.db"));
    busy.Open();
    while (!stop.IsCancellationRequested)
    {
        busy.Execute("BEGIN EXCLUSIVE");
        await Task.Delay(40);
        busy.Execute("COMMIT");
        await Task.Delay(10);
    }
});

await ReadAsync("2. The secondary turns slow:", TimeSpan.FromSeconds(1.5));
await stop.CancelAsync();
await neighbour;
await ReadAsync("3. The secondary is fast again:", TimeSpan.FromSeconds(1.5));

var status = dataSource.GetStatus();
Console.WriteLine($"Strands: {string.Join(", ", status.Strands.Select(s => $"{s.Name} {s.State}"))}. Files in {folder}");
