using Dapper;
using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests;

/// <summary>Transactions of several callers writing one row at once, on the two real PostgreSQL servers.</summary>
public class ConcurrentTransactionTests : PostgresTestBase
{
    /// <remarks>
    /// Before transactions wrote their strands one after the other, half of these transactions ended in command timeouts:
    /// two of them each took the row on one server and waited for the other's, which neither server could see.
    /// </remarks>
    [Test]
    public async Task Transactions_incrementing_one_row_at_once_all_commit_and_the_servers_agree()
    {
        const int workers = 4, increments = 15;
        await ExecuteOnBothAsync("CREATE TABLE counter (id int PRIMARY KEY, v int NOT NULL); INSERT INTO counter VALUES (1, 0)");
        await using var dataSource = HelixDataSource.Create(HelixConnectionString(inner: ";Command Timeout=5"));
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        async Task WorkAsync()
        {
            for (var i = 0; i < increments; i++)
            {
                try
                {
                    await using var connection = dataSource.CreateConnection();
                    await connection.OpenAsync();
                    await using var transaction = await connection.BeginTransactionAsync();
                    await connection.ExecuteAsync("UPDATE counter SET v = v + 1 WHERE id = 1", transaction: transaction);
                    await transaction.CommitAsync();
                }
                catch (HelixException e)
                {
                    failures.Add(e.Message);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(WorkAsync)));

        Assert.Multiple(async () =>
        {
            Assert.That(failures, Is.Empty, "every transaction commits, as on one server: the row's lock serializes them");
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT v FROM counter"), Is.EqualTo(new[] { $"{workers * increments}" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT v FROM counter"), Is.EqualTo(new[] { $"{workers * increments}" }));
            Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy));
        });
    }
}
