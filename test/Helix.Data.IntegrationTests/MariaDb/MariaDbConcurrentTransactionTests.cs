using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>Transactions of several callers writing the same rows at once, on the two real MariaDB servers.</summary>
public class MariaDbConcurrentTransactionTests : MariaDbTestBase
{
    /// <remarks>
    /// Before a deadlock on the first strand ended the statement there (contract amendment 37), the statement still ran on
    /// the second strand and the transaction went on there alone: the caller never saw the deadlock, the first strand was
    /// marked Failed for it, transactions waited on each other across the servers until InnoDB's lock wait timeout, and
    /// the servers could end apart.
    /// </remarks>
    [Test]
    public async Task Transfers_that_deadlock_are_the_provider_s_deadlock_which_the_caller_retries_and_the_servers_agree()
    {
        await ExecuteOnBothAsync("CREATE TABLE accounts (id INT PRIMARY KEY, balance INT NOT NULL) ENGINE=InnoDB");
        await ExecuteOnBothAsync("INSERT INTO accounts VALUES (1, 1000), (2, 1000)");

        var outcome = await Transfers.RunAsync(HelixConnectionString(), workers: 4, transfers: 15);

        TestContext.Out.WriteLine($"retried after a deadlock: {outcome.Retries}");
        Assert.Multiple(async () =>
        {
            Assert.That(outcome.Failures, Is.Empty, "every transfer commits after the caller's retries, as on one server");
            Assert.That(outcome.StrandStateChanges, Is.Empty, "a deadlock is the caller's to retry, not a strand fault");
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT id, balance FROM accounts ORDER BY id"), Is.EqualTo(new[] { "1|1000", "2|1000" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT id, balance FROM accounts ORDER BY id"), Is.EqualTo(new[] { "1|1000", "2|1000" }));
        });
    }
}
