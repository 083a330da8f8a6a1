using Dapper;
using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// Statements that change a connection's session (contract amendment 26): refused, since a write replayed to a strand
/// that missed it runs on another connection without the setting, in a transaction shared with other writes.
/// </summary>
public class PostgresSessionStateTests : PostgresTestBase
{
    private const string Tables = "SELECT 'tenant:' || string_agg(id::text, ',' ORDER BY id) FROM tenant.t UNION ALL SELECT 'public:' || string_agg(id::text, ',' ORDER BY id) FROM public.t";

    [SetUp]
    public Task CreateSchemasAsync() =>
        ExecuteOnBothAsync("CREATE SCHEMA tenant; CREATE TABLE tenant.t (id int PRIMARY KEY); CREATE TABLE public.t (id int PRIMARY KEY)");

    [TestCase("SET search_path TO tenant")]
    [TestCase("SET LOCAL search_path TO tenant")]
    [TestCase("SELECT set_config('search_path', 'tenant', false)")]
    [TestCase("RESET ALL")]
    public async Task A_statement_that_changes_the_session_is_refused_before_it_runs(string sql)
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using var connection = dataSource.CreateConnection();
        await connection.OpenAsync();
        Assert.That(
            async () => await connection.ExecuteAsync(sql),
            Throws.TypeOf<NotSupportedException>().With.Message.Contains("changes the connection's session").And.Message.Contains("Search Path="));

        await connection.ExecuteAsync("INSERT INTO t VALUES (1)"); // public.t: the search path did not change anywhere
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, Tables), Is.EqualTo(new[] { "NULL", "public:1" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, Tables), Is.EqualTo(new[] { "NULL", "public:1" }));
            Assert.That(dataSource.GetStatus().Strands.Select(s => s.Backlog), Is.All.Zero, "nothing queued");
        });
    }

    [Test]
    public async Task A_setting_that_changes_no_statements_effect_runs_and_the_writes_after_it_replay()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: ";Timeout=2;Command Timeout=2"));
        await PostgresServers.Secondary.KillAsync();
        await using (var connection = dataSource.CreateConnection())
        {
            await connection.OpenAsync();
            await connection.ExecuteAsync("SET statement_timeout = 5000");
            await using var transaction = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync("SET LOCAL lock_timeout = '2s'", transaction: transaction);
            await connection.ExecuteAsync("INSERT INTO tenant.t VALUES (2)", transaction: transaction);
            await transaction.CommitAsync();
            await connection.ExecuteAsync("INSERT INTO t VALUES (3)");
        }

        await PostgresServers.Secondary.StartAsync();
        await WaitForReplayAsync(dataSource);
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, Tables), Is.EqualTo(new[] { "tenant:2", "public:3" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, Tables), Is.EqualTo(new[] { "tenant:2", "public:3" }), "replayed as the primary applied them");
        });
    }
}
