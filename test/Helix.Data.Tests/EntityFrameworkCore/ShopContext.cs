using Microsoft.EntityFrameworkCore;

namespace Helix.Data.Tests.EntityFrameworkCore;

public sealed class Customer
{
    public Guid Id { get; set; }

    public string Name { get; set; } = string.Empty;

    public List<Order> Orders { get; } = [];
}

public sealed class Order
{
    public Guid Id { get; set; }

    public Guid CustomerId { get; set; }

    public decimal Total { get; set; }

    public List<OrderLine> Lines { get; } = [];
}

public sealed class OrderLine
{
    public Guid Id { get; set; }

    public Guid OrderId { get; set; }

    public string Product { get; set; } = string.Empty;

    public int Quantity { get; set; }
}

/// <summary>A plain EF Core model: Guid keys, which EF generates in the client.</summary>
public class ShopContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<Customer> Customers => Set<Customer>();

    public DbSet<Order> Orders => Set<Order>();

    public DbSet<OrderLine> Lines => Set<OrderLine>();
}

public sealed class Counter
{
    public int Id { get; set; }

    public int Value { get; set; }
}

/// <summary>A model with a key each database generates (an integer key, SQLite's rowid).</summary>
public sealed class CounterContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<Counter> Counters => Set<Counter>();
}

/// <summary>The entity graph the EF tests write: a customer, an order, three lines.</summary>
public static class ShopData
{
    public static Customer Alice()
    {
        var order = new Order { Total = 10m };
        order.Lines.AddRange([new OrderLine { Product = "pen", Quantity = 2 }, new OrderLine { Product = "ink", Quantity = 1 }, new OrderLine { Product = "paper", Quantity = 1 }]);
        var customer = new Customer { Name = "Alice" };
        customer.Orders.Add(order);
        return customer;
    }
}
