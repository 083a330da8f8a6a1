// Helix.Data with EF Core: a DbContext on two SQLite files, one strand taken down for real and brought back.
// Run it with: dotnet run --project samples/EfCore
using System.Security.Cryptography;
using System.Text;
using Helix.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

var folder = Directory.CreateTempSubdirectory("helix-efcore-").FullName;
var primaryFile = Path.Combine(folder, "primary.db");
var secondaryFile = Path.Combine(folder, "secondary.db");
string Inner(string file) => $"Data Source={file};Default Timeout=1";
var connectionString = $"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{Inner(primaryFile)}\";Secondary=\"{Inner(secondaryFile)}\"";

// The one added line: UseHelix around the provider the context already used.
await using var dataSource = HelixDataSource.Create(connectionString);
var options = new DbContextOptionsBuilder<Shop>().UseHelix(dataSource, (b, primary) => b.UseSqlite(primary)).Options;

await using (var shop = new Shop(options))
{
    await shop.Database.EnsureCreatedAsync(); // the tables, on both strands
    for (var i = 0; i < 10; i++)
    {
        var order = new Order { Customer = $"customer-{i}" };
        order.Lines.AddRange([new Line { Product = "pen", Quantity = i + 1 }, new Line { Product = "ink", Quantity = 1 }]);
        shop.Orders.Add(order);
    }

    await shop.SaveChangesAsync();
    Console.WriteLine($"1. Saved {await shop.Orders.CountAsync()} orders with {await shop.Lines.CountAsync()} lines through EF Core, on both strands.");
}

// Take the primary down for real: another connection holds an exclusive lock on its file.
var blocker = new SqliteConnection(Inner(primaryFile));
blocker.Open();
using (var begin = blocker.CreateCommand())
{
    begin.CommandText = "BEGIN EXCLUSIVE";
    begin.ExecuteNonQuery();
}

Console.WriteLine("2. Primary strand is down (its file is locked by another connection).");
await using (var shop = new Shop(options))
{
    foreach (var order in await shop.Orders.Include(o => o.Lines).Where(o => o.Customer.EndsWith('3') || o.Customer.EndsWith('7')).ToListAsync())
    {
        order.Lines.Single(l => l.Product == "pen").Quantity += 100;
        order.Lines.Add(new Line { Product = "paper", Quantity = 5 });
    }

    shop.Orders.Remove(await shop.Orders.SingleAsync(o => o.Customer == "customer-0"));
    await shop.SaveChangesAsync();
    var primary = dataSource.GetStatus()[HelixStrand.Primary];
    Console.WriteLine($"3. Queried and saved on the secondary meanwhile. Primary is {primary.State}, {primary.Backlog} SaveChanges wait for replay.");
}

using (var rollback = blocker.CreateCommand())
{
    rollback.CommandText = "ROLLBACK";
    rollback.ExecuteNonQuery();
}

blocker.Dispose();
using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
{
    await dataSource.WaitForReplayAsync(timeout.Token);
}

Console.WriteLine($"4. Primary is back and caught up: {dataSource.GetStatus()[HelixStrand.Primary].State}.");
foreach (var (name, file) in new[] { ("primary", primaryFile), ("secondary", secondaryFile) })
{
    using var check = new SqliteConnection(Inner(file));
    check.Open();
    using var command = check.CreateCommand();
    command.CommandText = "SELECT o.Customer, l.Product, l.Quantity FROM Orders o JOIN Lines l ON l.OrderId = o.Id ORDER BY o.Customer, l.Product";
    using var reader = command.ExecuteReader();
    var rows = new List<string>();
    while (reader.Read())
    {
        rows.Add($"{reader.GetString(0)}|{reader.GetString(1)}|{reader.GetInt32(2)}");
    }

    var checksum = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", rows))))[..16];
    Console.WriteLine($"5. {name,-9}: {rows.Count} order lines, checksum {checksum}");
}

SqliteConnection.ClearAllPools();
Directory.Delete(folder, recursive: true);

/// <summary>An order; its key is a Guid, which EF generates in the client, so both strands agree on it.</summary>
internal sealed class Order
{
    public Guid Id { get; set; }

    public string Customer { get; set; } = string.Empty;

    public List<Line> Lines { get; } = [];
}

internal sealed class Line
{
    public Guid Id { get; set; }

    public Guid OrderId { get; set; }

    public string Product { get; set; } = string.Empty;

    public int Quantity { get; set; }
}

internal sealed class Shop(DbContextOptions<Shop> options) : DbContext(options)
{
    public DbSet<Order> Orders => Set<Order>();

    public DbSet<Line> Lines => Set<Line>();
}
