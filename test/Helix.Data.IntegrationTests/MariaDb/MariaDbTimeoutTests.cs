using Dapper;
using MySqlConnector;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>
/// Statements the MariaDB servers end themselves (contract amendment 31): MySqlConnector's command timeout (it kills the
/// query on the server) and InnoDB's lock wait timeout (2 s on the test servers). The caller gets the provider's own
/// exception, nothing is replayed, no strand is failed for it.
/// </summary>
public class MariaDbTimeoutTests : MariaDbTestBase
{
    [TestCase(1, MySqlErrorCode.CommandTimeoutExpired, TestName = "MySqlConnector's command timeout")]
    [TestCase(30, MySqlErrorCode.LockWaitTimeout, TestName = "InnoDB's lock wait timeout")]
    public async Task A_write_both_servers_end_is_the_provider_s_error_and_is_never_applied(int commandTimeout, MySqlErrorCode expected)
    {
        await ExecuteOnBothAsync("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 1)");
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var primary = await OpenDirectAsync(HelixStrand.Primary))
        await using (var secondary = await OpenDirectAsync(HelixStrand.Secondary))
        {
            await using var heldOnPrimary = await primary.BeginTransactionAsync();
            await using var heldOnSecondary = await secondary.BeginTransactionAsync();
            await primary.ExecuteAsync("UPDATE t SET v = v WHERE id = 1", transaction: heldOnPrimary);
            await secondary.ExecuteAsync("UPDATE t SET v = v WHERE id = 1", transaction: heldOnSecondary);

            var thrown = Assert.CatchAsync<MySqlException>(() => connection.ExecuteAsync("UPDATE t SET v = v + 1 WHERE id = 1", commandTimeout: commandTimeout));
            var status = dataSource.GetStatus();
            Assert.Multiple(() =>
            {
                Assert.That(thrown!.ErrorCode, Is.EqualTo(expected), thrown.Message);
                Assert.That(status.IsConverged, Is.True, "nothing queued");
                Assert.That(status.Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy));
            });
            await heldOnPrimary.RollbackAsync();
            await heldOnSecondary.RollbackAsync();
        }

        Assert.That(await connection.ExecuteAsync("UPDATE t SET v = v + 10 WHERE id = 1"), Is.EqualTo(1));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await dataSource.WaitForReplayAsync(timeout.Token);
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT v FROM t"), Is.EqualTo(new[] { "11" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT v FROM t"), Is.EqualTo(new[] { "11" }));
        });
    }
}
