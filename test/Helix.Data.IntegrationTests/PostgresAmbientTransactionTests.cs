using System.Transactions;
using Dapper;
using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// A <see cref="TransactionScope"/> around Helix commands on two real PostgreSQL servers: a Helix connection opened in a
/// scope runs in one Helix transaction that commits or rolls back with the scope, as one Npgsql connection runs in it.
/// Before, Npgsql enlisted each strand's connection, the two servers were two resources of one transaction, and the scope
/// aborted at its end with "prepared transactions are disabled"; then, for a while, Helix refused writes in a scope.
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

    private async Task<T> ScalarAsync<T>(HelixConnection connection, string sql) =>
        IsAsync ? await connection.QuerySingleAsync<T>(sql) : connection.QuerySingle<T>(sql);

    private static void AssertHealthyWithNothingQueued(HelixDataSource dataSource) =>
        Assert.That(dataSource.GetStatus().Strands.Select(s => (s.State, s.Backlog)), Is.All.EqualTo((HelixStrandState.Healthy, 0L)), "no strand failed, nothing queued");

    [Test]
    public async Task A_scope_that_completes_commits_its_writes_on_both_servers_and_one_that_does_not_on_neither()
    {
        await using var dataSource = Build();
        using (Scope())
        {
            await using var connection = await OpenAsync(dataSource);
            await InsertAsync(connection, 1);
            Assert.That(await ScalarAsync<int>(connection, "SELECT count(*) FROM items"), Is.EqualTo(1), "the scope reads its own write");
        }

        Assert.That(await BothAsync(), Is.EqualTo(new[] { "|" }), "not completed: rolled back on both");
        using (var scope = Scope())
        {
            await using var connection = await OpenAsync(dataSource);
            await InsertAsync(connection, 2);
            await InsertAsync(connection, 3);
            scope.Complete();
        }

        Assert.That(await BothAsync(), Is.EqualTo(new[] { "2", "3", "|", "2", "3" }), "before, the scope aborted at its end: 'prepared transactions are disabled'");
        AssertHealthyWithNothingQueued(dataSource);
    }

    [Test]
    public async Task Connections_opened_one_after_another_in_a_scope_run_in_one_transaction()
    {
        await using var dataSource = Build();
        foreach (var complete in new[] { false, true })
        {
            using var scope = Scope();
            await using (var first = await OpenAsync(dataSource))
            {
                await InsertAsync(first, complete ? 2 : 1);
            }

            await using (var second = await OpenAsync(dataSource))
            {
                Assert.That(await ScalarAsync<int>(second, "SELECT count(*) FROM items"), Is.EqualTo(1), "the second connection sees the first one's write: one transaction");
                await InsertAsync(second, complete ? 20 : 10);
            }

            if (complete)
            {
                scope.Complete();
            }
        }

        Assert.That(await BothAsync(), Is.EqualTo(new[] { "2", "20", "|", "2", "20" }));
        AssertHealthyWithNothingQueued(dataSource);
    }

    [Test]
    public async Task A_second_connection_opened_while_the_first_is_open_in_a_scope_is_refused_and_the_first_goes_on()
    {
        await using var dataSource = Build();
        using (var scope = Scope())
        {
            await using var first = await OpenAsync(dataSource);
            await InsertAsync(first, 1);
            var refused = Assert.ThrowsAsync<NotSupportedException>(async () => await OpenAsync(dataSource));
            Assert.That(refused!.Message, Does.Contain("Another connection").And.Contain("TransactionScope"));
            await InsertAsync(first, 2);
            scope.Complete();
        }

        Assert.That(await BothAsync(), Is.EqualTo(new[] { "1", "2", "|", "1", "2" }));
    }

    [Test]
    public async Task A_nested_RequiresNew_scope_is_a_transaction_of_its_own_beside_the_outer_ones_open_connection()
    {
        await using var dataSource = Build();
        using (Scope())
        {
            await using var outer = await OpenAsync(dataSource);
            await InsertAsync(outer, 1);
            using (var inner = Scope(TransactionScopeOption.RequiresNew))
            {
                await using var connection = await OpenAsync(dataSource);
                await InsertAsync(connection, 2);
                inner.Complete();
            }

            await InsertAsync(outer, 3); // the outer scope is not completed
        }

        Assert.That(await BothAsync(), Is.EqualTo(new[] { "2", "|", "2" }));
    }

    [Test]
    public async Task A_connection_opened_before_the_scope_writes_outside_it_unless_it_is_enlisted_as_with_Npgsql()
    {
        await using var dataSource = Build();
        await using var connection = await OpenAsync(dataSource);
        using (Scope())
        {
            await InsertAsync(connection, 1); // not enlisted: the write is not part of the scope, which does not complete
        }

        using (Scope())
        {
            connection.EnlistTransaction(Transaction.Current);
            await InsertAsync(connection, 2); // enlisted: rolled back with the scope
            Assert.Throws<InvalidOperationException>(() => connection.BeginTransaction(), "a transaction of its own in the scope");
        }

        await InsertAsync(connection, 3); // after the scope: the connection writes on its own again
        Assert.That(await BothAsync(), Is.EqualTo(new[] { "1", "3", "|", "1", "3" }));
    }

    [Test]
    public async Task The_scope_sets_the_isolation_level_on_the_strands_as_Npgsql_does()
    {
        await using var dataSource = Build();
        using (Scope())
        {
            await using var connection = await OpenAsync(dataSource);
            Assert.That(await ScalarAsync<string>(connection, "SHOW transaction_isolation"), Is.EqualTo("serializable"), "a TransactionScope's default");
        }

        using (new TransactionScope(TransactionScopeOption.Required, new TransactionOptions { IsolationLevel = System.Transactions.IsolationLevel.ReadCommitted }, TransactionScopeAsyncFlowOption.Enabled))
        {
            await using var connection = await OpenAsync(dataSource);
            await InsertAsync(connection, 1);
            Assert.That(await ScalarAsync<string>(connection, "SHOW transaction_isolation"), Is.EqualTo("read committed"));
        }
    }

    [Test]
    public async Task A_commit_that_both_servers_refuse_aborts_the_scope_with_the_servers_error()
    {
        await ExecuteOnBothAsync("CREATE TABLE once (id int, CONSTRAINT once_id UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)");
        await using var dataSource = Build();
        var scope = Scope();
        await using (var connection = await OpenAsync(dataSource))
        {
            await connection.ExecuteAsync("INSERT INTO once VALUES (1)");
            await connection.ExecuteAsync("INSERT INTO once VALUES (1)"); // checked at the commit
            scope.Complete();
        }

        var aborted = Assert.Throws<TransactionAbortedException>(scope.Dispose, "as a scope over one Npgsql connection whose commit fails");
        Assert.That(aborted!.InnerException, Is.InstanceOf<Npgsql.PostgresException>().With.Property("SqlState").EqualTo("23505"));
        AssertHealthyWithNothingQueued(dataSource);
        Assert.That(await RowsAsync(HelixStrand.Primary, "SELECT count(*) FROM once"), Is.EqualTo(new[] { "0" }));
        Assert.That(await RowsAsync(HelixStrand.Secondary, "SELECT count(*) FROM once"), Is.EqualTo(new[] { "0" }));
    }

    [Test]
    public async Task A_scope_that_completes_while_a_strand_is_down_commits_on_the_other_and_is_replayed_to_it()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = Build();
        await PostgresServers.Secondary.KillAsync();
        using (var scope = Scope())
        {
            await using (var connection = await OpenAsync(dataSource))
            {
                await InsertAsync(connection, 1);
            }

            await using (var connection = await OpenAsync(dataSource))
            {
                await InsertAsync(connection, 2);
            }

            scope.Complete();
        }

        Assert.That(await RowsAsync(HelixStrand.Primary, Rows), Is.EqualTo(new[] { "1", "2" }));
        await PostgresServers.Secondary.StartAsync();
        await WaitForReplayAsync(dataSource);
        Assert.That(await BothAsync(), Is.EqualTo(new[] { "1", "2", "|", "1", "2" }));
    }

    [Test]
    public async Task A_scope_that_rolls_back_while_a_strand_is_down_is_not_replayed_to_it()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = Build();
        await PostgresServers.Secondary.KillAsync();
        using (Scope())
        {
            await using var connection = await OpenAsync(dataSource);
            await InsertAsync(connection, 1);
        }

        await using (var connection = await OpenAsync(dataSource))
        {
            await InsertAsync(connection, 2); // outside the scope: written on the primary, queued for the secondary
        }

        await PostgresServers.Secondary.StartAsync();
        await WaitForReplayAsync(dataSource);
        Assert.That(await BothAsync(), Is.EqualTo(new[] { "2", "|", "2" }), "the rolled-back 1 reaches neither strand");
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
