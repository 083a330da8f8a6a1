using System.Data.Common;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Dapper;

namespace Helix.Data.Benchmarks;

/// <summary>
/// A Dapper point <c>SELECT</c> as an application runs it: a new connection from the pool, opened and closed by Dapper,
/// one row by key. Through Helix.Data over two strands, and through the plain provider (the baseline of each category).
/// </summary>
public class ReadBenchmarks : DapperBenchmarks
{
    private const string Select = "SELECT id, name, amount, version FROM t WHERE id = @Id";

    [GlobalSetup]
    public void Setup()
    {
        SetupOneSide(helix: false);
        WarmOneSide(helix: true);
    }

    /// <inheritdoc />
    protected override void WarmOneSide(bool helix)
    {
        if ((helix ? HelixSync() : PlainSync()).Id != Stores.SeededId)
        {
            throw new InvalidOperationException("The seeded row was not read back.");
        }
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Read, sync")]
    public Row PlainSync()
    {
        using var connection = Plain(Databases.Primary);
        return connection.QuerySingle<Row>(Select, new { Id = Stores.SeededId });
    }

    [Benchmark, BenchmarkCategory("Read, sync")]
    public Row HelixSync()
    {
        using var connection = new HelixConnection(Databases.Helix);
        return connection.QuerySingle<Row>(Select, new { Id = Stores.SeededId });
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Read, async")]
    public async Task<Row> PlainAsync()
    {
        await using var connection = Plain(Databases.Primary);
        return await connection.QuerySingleAsync<Row>(Select, new { Id = Stores.SeededId });
    }

    [Benchmark, BenchmarkCategory("Read, async")]
    public async Task<Row> HelixAsync()
    {
        await using var connection = new HelixConnection(Databases.Helix);
        return await connection.QuerySingleAsync<Row>(Select, new { Id = Stores.SeededId });
    }

    /// <summary>What a read does besides its command: a new plain connection, opened and closed as Dapper does it.</summary>
    public void PlainOpenClose()
    {
        using var connection = Plain(Databases.Primary);
        connection.Open();
        connection.Close();
    }

    /// <summary>What a read does besides its command, through Helix.Data.</summary>
    public void HelixOpenClose()
    {
        using var connection = new HelixConnection(Databases.Helix);
        connection.Open();
        connection.Close();
    }

    /// <summary>What an asynchronous read does besides its command: Dapper opens asynchronously and closes synchronously.</summary>
    public async Task PlainOpenCloseAsync()
    {
        await using var connection = Plain(Databases.Primary);
        await connection.OpenAsync();
        connection.Close();
    }

    /// <summary>What an asynchronous read does besides its command, through Helix.Data.</summary>
    public async Task HelixOpenCloseAsync()
    {
        await using var connection = new HelixConnection(Databases.Helix);
        await connection.OpenAsync();
        connection.Close();
    }
}

/// <summary>
/// A Dapper <c>INSERT</c> of a new row as an application runs it: through Helix.Data on two strands; through the plain
/// provider on each strand alone (the baseline is the first strand); and hand-written, the same insert on two plain
/// connections at once (<c>Task.WhenAll</c>), or, when synchronous, one after the other and at once (<c>Parallel.Invoke</c>).
/// </summary>
public class WriteBenchmarks : DapperBenchmarks
{
    private const string Insert = "INSERT INTO t (id, name, amount, version) VALUES (@Id, @Name, @Amount, @Version)";

    [GlobalSetup]
    public void Setup() => SetupOneSide(helix: true);

    /// <inheritdoc />
    protected override void WarmOneSide(bool helix)
    {
        if (helix)
        {
            HelixSync();
        }
        else
        {
            HandWrittenSequentialSync();
        }
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Write, async")]
    public async Task<int> PlainFirstAsync()
    {
        await using var connection = Plain(Databases.Primary);
        return await connection.ExecuteAsync(Insert, Row.Fresh());
    }

    [Benchmark, BenchmarkCategory("Write, async")]
    public async Task<int> PlainSecondAsync()
    {
        await using var connection = Plain(Databases.Secondary);
        return await connection.ExecuteAsync(Insert, Row.Fresh());
    }

    [Benchmark, BenchmarkCategory("Write, async")]
    public async Task<int> HandWrittenWhenAllAsync()
    {
        var row = Row.Fresh();
        await using var first = Plain(Databases.Primary);
        await using var second = Plain(Databases.Secondary);
        var affected = await Task.WhenAll(first.ExecuteAsync(Insert, row), second.ExecuteAsync(Insert, row));
        return affected[0];
    }

    [Benchmark, BenchmarkCategory("Write, async")]
    public async Task<int> HelixAsync()
    {
        await using var connection = new HelixConnection(Databases.Helix);
        return await connection.ExecuteAsync(Insert, Row.Fresh());
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Write, sync")]
    public int PlainFirstSync()
    {
        using var connection = Plain(Databases.Primary);
        return connection.Execute(Insert, Row.Fresh());
    }

    [Benchmark, BenchmarkCategory("Write, sync")]
    public int PlainSecondSync()
    {
        using var connection = Plain(Databases.Secondary);
        return connection.Execute(Insert, Row.Fresh());
    }

    [Benchmark, BenchmarkCategory("Write, sync")]
    public int HandWrittenSequentialSync()
    {
        var row = Row.Fresh();
        using var first = Plain(Databases.Primary);
        using var second = Plain(Databases.Secondary);
        first.Execute(Insert, row);
        return second.Execute(Insert, row);
    }

    [Benchmark, BenchmarkCategory("Write, sync")]
    public int HandWrittenParallelSync()
    {
        var row = Row.Fresh();
        var affected = 0;
        Parallel.Invoke(
            () =>
            {
                using var first = Plain(Databases.Primary);
                affected = first.Execute(Insert, row);
            },
            () =>
            {
                using var second = Plain(Databases.Secondary);
                second.Execute(Insert, row);
            });
        return affected;
    }

    [Benchmark, BenchmarkCategory("Write, sync")]
    public int HelixSync()
    {
        using var connection = new HelixConnection(Databases.Helix);
        return connection.Execute(Insert, Row.Fresh());
    }
}

/// <summary>What the Dapper benchmarks share: the provider parameter, the two databases, plain connections.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public abstract class DapperBenchmarks
{
    private Stores? _stores;

    /// <summary>Gets or sets the inner provider: <c>Sqlite</c> or <c>Postgres</c>.</summary>
    [ParamsSource(nameof(Providers))]
    public string Provider { get; set; } = "Sqlite";

    /// <summary>
    /// Gets the providers to run: both, or those named in <c>HELIX_BENCH_PROVIDERS</c> (comma-separated), for a longer
    /// run of one of them.
    /// </summary>
    public static IEnumerable<string> Providers =>
        Environment.GetEnvironmentVariable("HELIX_BENCH_PROVIDERS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } chosen
            ? chosen
            : ["Sqlite", "Postgres"];

    /// <summary>Gets the databases of the run.</summary>
    protected Stores Databases => _stores ?? throw new InvalidOperationException("Setup has not run.");

    /// <summary>Gets the Helix connection string of the run.</summary>
    internal string HelixConnectionString => Databases.Helix;

    [GlobalCleanup]
    public void Cleanup() => _stores?.Dispose();

    /// <summary>
    /// Creates and seeds the databases and runs the operation once through one side only: Dapper's call sites then see only
    /// that side's connection, command and reader types, as in an application that uses one of them.
    /// </summary>
    /// <param name="helix">Whether the side is Helix.Data's (else the plain provider's).</param>
    internal void SetupOneSide(bool helix)
    {
        Open();
        WarmOneSide(helix);
    }

    /// <summary>Creates and seeds the databases.</summary>
    protected void Open() => _stores = Stores.Create(Provider);

    /// <summary>Runs the operation once through one side, checking what it can.</summary>
    /// <param name="helix">Whether the side is Helix.Data's.</param>
    protected abstract void WarmOneSide(bool helix);

    /// <summary>A new, closed plain connection, as an application makes one per operation.</summary>
    protected DbConnection Plain(string connectionString)
    {
        var connection = Databases.Factory.CreateConnection()!;
        connection.ConnectionString = connectionString;
        return connection;
    }
}
