using Dapper;
using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// Statements that change a connection's session (contract amendment 26): refused, since a write replayed to a strand
/// that missed it runs on another connection without the setting. A transaction's own settings (amendment 43) are
/// carried: they run on every strand and replay with their transaction.
/// </summary>
public class PostgresSessionStateTests : PostgresTestBase
{
    private const string Tables = "SELECT 'tenant:' || string_agg(id::text, ',' ORDER BY id) FROM tenant.t UNION ALL SELECT 'public:' || string_agg(id::text, ',' ORDER BY id) FROM public.t";

    [SetUp]
    public Task CreateSchemasAsync() =>
        ExecuteOnBothAsync("CREATE SCHEMA tenant; CREATE TABLE tenant.t (id int PRIMARY KEY); CREATE TABLE public.t (id int PRIMARY KEY)");

    [TestCase("SET search_path TO tenant")]
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

    // Found 2026-12-06 (amendment 43) trying row-level security as PostgreSQL documents it: the tenant set for the
    // transaction (set_config(..., true), SET LOCAL) was refused as a session change, so a multi-tenant application
    // could not use Helix at all.
    [Test]
    public async Task Row_level_security_with_the_tenant_set_for_each_transaction_writes_both_servers_and_replays_with_its_tenant()
    {
        PostgresServers.RequireFaultControl();
        await CreateTenantRoleOnBothAsync();
        await ExecuteOnBothAsync("""
            CREATE TABLE notes (tenant text NOT NULL DEFAULT current_setting('app.tenant'), body text NOT NULL);
            ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
            ALTER TABLE notes FORCE ROW LEVEL SECURITY;
            CREATE POLICY by_tenant ON notes USING (tenant = current_setting('app.tenant', true)) WITH CHECK (tenant = current_setting('app.tenant', true));
            CREATE TABLE audit (tenant text DEFAULT current_setting('app.tenant', true), body text NOT NULL);
            GRANT SELECT, INSERT ON notes, audit TO helix_tenant_app;
            """);
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: TenantLogin + ";Timeout=2;Command Timeout=2"));
        await using var connection = dataSource.CreateConnection();
        await connection.OpenAsync();
        await WriteNoteAsync(connection, "SELECT set_config('app.tenant', 'acme', true)", "a1", seen: 1);

        await PostgresServers.Secondary.KillAsync();
        await WriteNoteAsync(connection, "SELECT set_config('app.tenant', @tenant, true)", "a2", seen: 2, tenant: "acme");
        await WriteNoteAsync(connection, "SET LOCAL app.tenant = 'globex'", "g1", seen: 1);
        await connection.ExecuteAsync("INSERT INTO audit (body) VALUES ('no tenant')"); // after them, in the same replay batch
        Assert.That(dataSource.GetStatus()[HelixStrand.Secondary].Backlog, Is.EqualTo(3), "the secondary gets them by replay");

        await PostgresServers.Secondary.StartAsync();
        await WaitForReplayAsync(dataSource);
        const string Everything = "SELECT tenant || ':' || body FROM notes UNION ALL SELECT coalesce(nullif(tenant, ''), '-') || ':' || body FROM audit ORDER BY 1";
        var expected = new[] { "-:no tenant", "acme:a1", "acme:a2", "globex:g1" };
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, Everything), Is.EqualTo(expected));
            Assert.That(await RowsAsync(HelixStrand.Secondary, Everything), Is.EqualTo(expected), "each replayed with its own tenant, and none with the one before");
        });
    }

    [Test]
    public async Task A_transaction_setting_outside_a_transaction_runs_on_both_servers_and_changes_nothing_after_it()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await using var connection = dataSource.CreateConnection();
        await connection.OpenAsync();
        await connection.ExecuteAsync("SET LOCAL search_path TO tenant"); // PostgreSQL warns: no transaction to hold it
        await connection.ExecuteAsync("INSERT INTO t VALUES (1)");
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, Tables), Is.EqualTo(new[] { "NULL", "public:1" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, Tables), Is.EqualTo(new[] { "NULL", "public:1" }));
        });
    }

    /// <summary>One tenant's transaction: its setting, an insert that takes the tenant from it, and a read row-level security filters.</summary>
    private static async Task WriteNoteAsync(HelixConnection connection, string setting, string body, int seen, string? tenant = null)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync(setting, new { tenant }, transaction);
        await connection.ExecuteAsync("INSERT INTO notes (body) VALUES (@body)", new { body }, transaction);
        Assert.That(await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM notes", transaction: transaction), Is.EqualTo(seen), $"rows the tenant of '{body}' sees");
        await transaction.CommitAsync();
    }
}
