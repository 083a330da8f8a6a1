using System.Transactions;
using Dapper;
using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// A <see cref="TransactionScope"/> around Helix commands on two real PostgreSQL servers. Npgsql enlists every connection
/// it opens in a scope, so Helix's two strands would be two resources of one transaction: Helix refuses a write in a
/// scope before it runs anywhere (before, the scope aborted at its end with "prepared transactions are disabled", and a
/// write queued for a strand that was down was replayed to it although the scope rolled back).
/// </summary>
[TestFixture(SyncOrAsync.Sync)]
[TestFixture(SyncOrAsync.Async)]
public class PostgresAmbientTransactionTests(SyncOrAsync mode) : PostgresTestBase
{
    private const string Rows = "SELECT id FROM items ORDER BY id";

    private bool IsAsync => mode == SyncOrAsync.Async;

    [SetUp]
    public Task CreateSchemaAsync() => ExecuteOnBothAsync("CREATE TABLE items (id int PRIMARY KEY)");

    private HelixDataSource Build(string inner = "") =>
        new HelixDataSourceBuilder(HelixConnectionString(inner: ";Timeout=2;Command Timeout=2;Cancellation Timeout=500" + inner))
            .ConfigureReplay(o => o.BackoffMax = TimeSpan.FromMilliseconds(300))
            .Build();

    private static TransactionScope Scope(TransactionScopeOption option = TransactionScopeOption.Required) => new(option, TransactionScopeAsyncFlowOption.Enabled);

    private async Task InsertAsync(HelixConnection connection, int id)
    {
        if (IsAsync)
        {
            await connection.ExecuteAsync("INSERT INTO items VALUES (@id)", new { id });
        }
        else
        {
            connection.Execute("INSERT INTO items VALUES (@id)", new { id });
        }
    }

    private async Task<HelixConnection> OpenAsync(HelixDataSource dataSource) =>
        IsAsync ? await dataSource.OpenConnectionAsync() : dataSource.OpenConnection();

    private async Task<List<string>> BothAsync() => [.. await RowsAsync(HelixStrand.Primary, Rows), "|", .. await RowsAsync(HelixStrand.Secondary, Rows)];

    [Test]
    public async Task A_write_in_a_scope_is_refused_before_it_runs_and_the_connection_writes_after_the_scope()
    {
        await using var dataSource = Build();
        await using var connection = await OpenAsync(dataSource);
        using (Scope())
        {
            var refused = Assert.ThrowsAsync<NotSupportedException>(() => InsertAsync(connection, 1));
            Assert.That(refused!.Message, Does.Contain("TransactionScope").And.Contain("BeginTransaction").And.Contain("Enlist=false"));
        }

        Assert.That(dataSource.GetStatus().Strands.Select(s => (s.State, s.Backlog)), Is.All.EqualTo((HelixStrandState.Healthy, 0L)), "no strand failed, nothing queued");
        await InsertAsync(connection, 2);
        Assert.That(await BothAsync(), Is.EqualTo(new[] { "2", "|", "2" }));
    }

    [Test]
    public async Task A_write_in_a_scope_that_rolls_back_while_a_strand_is_down_is_not_replayed_to_it()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = Build();
        await PostgresServers.Secondary.KillAsync();
        using (Scope())
        {
            await using var connection = await OpenAsync(dataSource);
            Assert.ThrowsAsync<NotSupportedException>(() => InsertAsync(connection, 1));
        }

        await using (var connection = await OpenAsync(dataSource))
        {
            await InsertAsync(connection, 2); // outside the scope: written on the primary, queued for the secondary
        }

        await PostgresServers.Secondary.StartAsync();
        await WaitForReplayAsync(dataSource);
        Assert.That(await BothAsync(), Is.EqualTo(new[] { "2", "|", "2" }), "before, the secondary got the rolled-back 1 by replay and the primary never had it");
    }

    [Test]
    public async Task Reads_in_a_scope_and_writes_in_a_suppressed_scope_within_it_work()
    {
        await using var dataSource = Build();
        using (var scope = Scope())
        {
            await using var connection = await OpenAsync(dataSource);
            using (Scope(TransactionScopeOption.Suppress))
            {
                await InsertAsync(connection, 1);
            }

            var read = IsAsync ? await connection.QuerySingleAsync<int>("SELECT count(*) FROM items") : connection.QuerySingle<int>("SELECT count(*) FROM items");
            Assert.That(read, Is.EqualTo(1));
            scope.Complete();
        }

        Assert.That(await BothAsync(), Is.EqualTo(new[] { "1", "|", "1" }));
    }

    [Test]
    public async Task A_data_source_first_used_inside_a_scope_replays_after_the_scope_is_gone()
    {
        PostgresServers.RequireFaultControl();
        HelixDataSource dataSource;
        using (var scope = Scope())
        {
            // The data source (its replay worker, prober and watches) is built inside a scope that flows with async calls.
            dataSource = Build();
            await using var connection = await OpenAsync(dataSource);
            var read = IsAsync ? await connection.QuerySingleAsync<int>("SELECT count(*) FROM items") : connection.QuerySingle<int>("SELECT count(*) FROM items");
            Assert.That(read, Is.Zero);
            scope.Complete();
        }

        await using (dataSource)
        {
            await PostgresServers.Secondary.KillAsync();
            await using (var connection = await OpenAsync(dataSource))
            {
                await InsertAsync(connection, 1); // queued for the secondary
            }

            await PostgresServers.Secondary.StartAsync();
            await WaitForReplayAsync(dataSource);
            Assert.That(await BothAsync(), Is.EqualTo(new[] { "1", "|", "1" }), "the background work did not carry the scope's transaction");
        }
    }

    [Test]
    public async Task With_Enlist_false_in_the_strands_strings_a_write_in_a_scope_runs_outside_it_as_Npgsql_runs_it()
    {
        await using var dataSource = Build(";Enlist=false");
        using (Scope())
        {
            await using var connection = await OpenAsync(dataSource);
            await InsertAsync(connection, 1); // the scope is not completed: with Enlist=false the write is not part of it
        }

        Assert.That(await BothAsync(), Is.EqualTo(new[] { "1", "|", "1" }));
    }
}
