using Dapper;
using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests;

/// <summary>Several callers writing one row at once, on the two real PostgreSQL servers.</summary>
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

    /// <remarks>
    /// Before a deadlock on the first strand ended the statement there (contract amendment 37), the statement still ran on
    /// the second strand and the transaction went on there alone: the caller never saw the deadlock and the first strand
    /// was marked Failed for it.
    /// </remarks>
    [Test]
    public async Task Transfers_that_deadlock_are_the_provider_s_deadlock_which_the_caller_retries_and_the_servers_agree()
    {
        await ExecuteOnBothAsync("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL); INSERT INTO accounts VALUES (1, 1000), (2, 1000)");

        var outcome = await Transfers.RunAsync(HelixConnectionString(inner: ";Command Timeout=10;Options=-c deadlock_timeout=20ms"), workers: 4, transfers: 15);

        TestContext.Out.WriteLine($"retried after a deadlock: {outcome.Retries}");
        Assert.Multiple(async () =>
        {
            Assert.That(outcome.Failures, Is.Empty, "every transfer commits after the caller's retries, as on one server");
            Assert.That(outcome.StrandStateChanges, Is.Empty, "a deadlock is the caller's to retry, not a strand fault");
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT id || '|' || balance FROM accounts ORDER BY id"), Is.EqualTo(new[] { "1|1000", "2|1000" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT id || '|' || balance FROM accounts ORDER BY id"), Is.EqualTo(new[] { "1|1000", "2|1000" }));
        });
    }

    /// <remarks>
    /// Plain statements racing on one row may be applied in one order on the primary and in the other on the secondary
    /// (measured: the servers ended with different values in 1 to 3 of 20 such rounds, nothing reported). The two ways the
    /// docs give make them agree every time (replay.md, "Order of concurrent writes"): a transaction, whose statement
    /// holds the row on the primary until it ran on the secondary (amendment 30), and a write guarded by
    /// <c>helix_ts</c>, which keeps the newer value whatever the order; the guarded writes that changed nothing where a
    /// newer one came first are not reported as divergences (amendment 39).
    /// </remarks>
    [TestCase(false)]
    [TestCase(true)]
    public async Task Writers_racing_on_one_row_leave_the_servers_equal_in_transactions_and_with_helix_ts(bool guarded)
    {
        const int rounds = 10, workers = 4, writes = 10;
        await ExecuteOnBothAsync("CREATE TABLE r (id int PRIMARY KEY, v int NOT NULL, version bigint NOT NULL); INSERT INTO r VALUES (1, 0, 0)");
        await using var dataSource = HelixDataSource.Create(HelixConnectionString(inner: ";Command Timeout=10"));
        var apart = await RoundsApartAsync("SELECT v FROM r", rounds, workers, writes, async (round, worker, i) =>
        {
            var v = (round * 1000) + (worker * 100) + i;
            await using var connection = await dataSource.OpenConnectionAsync();
            if (guarded)
            {
                await connection.ExecuteAsync("UPDATE r SET v = @v, version = @helix_ts WHERE id = 1 AND version < @helix_ts", new { v });
            }
            else
            {
                await using var transaction = await connection.BeginTransactionAsync();
                await connection.ExecuteAsync("UPDATE r SET v = @v WHERE id = 1", new { v }, transaction);
                await transaction.CommitAsync();
            }
        });

        Assert.Multiple(() =>
        {
            Assert.That(apart, Is.Empty, "the servers hold the same value after every round");
            Assert.That(dataSource.GetStatus().Divergences, Is.Zero, "nothing reported");
            Assert.That(dataSource.GetStatus().IsConverged, Is.True);
        });
    }
}
