using Helix.Data.IntegrationTests.Support;
using Npgsql;

namespace Helix.Data.IntegrationTests;

/// <summary>The default classification of Npgsql errors, checked against the real errors that real faults produce.</summary>
public class NpgsqlClassificationTests : PostgresTestBase
{
    private static readonly HelixErrorClassifier Classifier = HelixErrorClassifier.Default;

    private string ConnectionString(string extra = "") => PostgresServers.Primary.ConnectionString(Database) + ";Pooling=false" + extra;

    private static async Task<Exception> CaptureAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
#pragma warning disable CA1031 // the test inspects whatever was thrown
        catch (Exception e)
#pragma warning restore CA1031
        {
            TestContext.Out.WriteLine($"{e.GetType().Name} {(e as PostgresException)?.SqlState}: {e.Message}");
            return e;
        }

        Assert.Fail("The operation did not fail.");
        throw new InvalidOperationException("unreachable");
    }

    private async Task<NpgsqlConnection> OpenAsync(string extra = "")
    {
        var connection = new NpgsqlConnection(ConnectionString(extra));
        await connection.OpenAsync();
        return connection;
    }

    [Test]
    public async Task Statement_errors_are_statement_errors()
    {
        await ExecuteAsync(HelixStrand.Primary, "CREATE TABLE t (id int PRIMARY KEY, n int CHECK (n > 0)); INSERT INTO t VALUES (1, 1)");
        await using var connection = await OpenAsync();
        foreach (var (sql, state) in new[]
        {
            ("INSERT INTO t VALUES (1, 1)", "23505"),
            ("INSERT INTO t VALUES (2, 0)", "23514"),
            ("SELEC 1", "42601"),
            ("SELECT * FROM missing", "42P01"),
            ("SELECT 1 / 0", "22012"),
            ("SELECT 'x'::int", "22P02"),
        })
        {
            var error = await CaptureAsync(() => new NpgsqlCommand(sql, connection).ExecuteNonQueryAsync());
            Assert.Multiple(() =>
            {
                Assert.That(((PostgresException)error).SqlState, Is.EqualTo(state), sql);
                Assert.That(Classifier.Classify(error), Is.EqualTo(HelixErrorKind.StatementError), sql);
            });
        }
    }

    [Test]
    public async Task A_stopped_server_refuses_connections_and_that_is_a_strand_fault()
    {
        PostgresServers.RequireFaultControl();
        await PostgresServers.Primary.KillAsync();
        var error = await CaptureAsync(() => OpenAsync());
        Assert.Multiple(() =>
        {
            Assert.That(error, Is.InstanceOf<NpgsqlException>());
            Assert.That(Classifier.Classify(error), Is.EqualTo(HelixErrorKind.StrandFault));
        });
    }

    [Test]
    public async Task A_server_killed_under_a_running_query_is_a_strand_fault()
    {
        PostgresServers.RequireFaultControl();
        await using var connection = await OpenAsync();
        var query = new NpgsqlCommand("SELECT pg_sleep(30)", connection).ExecuteNonQueryAsync();
        await Task.Delay(200); // let the query reach the server; the kill is what the test is about, not the timing
        await PostgresServers.Primary.KillAsync();
        var error = await CaptureAsync(() => query);
        Assert.That(Classifier.Classify(error), Is.EqualTo(HelixErrorKind.StrandFault));
    }

    [Test]
    public async Task A_hung_server_times_out_at_open_and_in_a_command_and_both_are_strand_faults()
    {
        PostgresServers.RequireFaultControl();
        await using var connection = await OpenAsync(";Command Timeout=1;Cancellation Timeout=200");
        await PostgresServers.Primary.HangAsync();
        var command = await CaptureAsync(() => new NpgsqlCommand("SELECT 1", connection).ExecuteScalarAsync());
        var open = await CaptureAsync(() => OpenAsync(";Timeout=1"));
        Assert.Multiple(() =>
        {
            Assert.That(command, Is.InstanceOf<NpgsqlException>());
            Assert.That(Classifier.Classify(command), Is.EqualTo(HelixErrorKind.StrandFault));
            Assert.That(open, Is.InstanceOf<NpgsqlException>());
            Assert.That(Classifier.Classify(open), Is.EqualTo(HelixErrorKind.StrandFault));
        });
    }

    [Test]
    public async Task A_terminated_session_statement_timeout_connection_limit_and_missing_database_are_strand_faults()
    {
        await using var victim = await OpenAsync();
        var pid = victim.ProcessID;
        await using (var admin = await OpenAsync())
        {
            await new NpgsqlCommand($"SELECT pg_terminate_backend({pid})", admin).ExecuteNonQueryAsync();
        }

        var terminated = await CaptureAsync(() => new NpgsqlCommand("SELECT 1", victim).ExecuteScalarAsync());

        await using var slow = await OpenAsync();
        await new NpgsqlCommand("SET statement_timeout = 50", slow).ExecuteNonQueryAsync();
        var timedOut = await CaptureAsync(() => new NpgsqlCommand("SELECT pg_sleep(5)", slow).ExecuteNonQueryAsync());

        // Superusers ignore connection limits: a role of its own, allowed no connection at all.
        var role = "limited_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync(HelixStrand.Primary, $"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0");
        var limited = await CaptureAsync(async () =>
        {
            await using var connection = new NpgsqlConnection(ConnectionString($";Username={role}"));
            await connection.OpenAsync();
        });

        var missing = await CaptureAsync(async () =>
        {
            await using var connection = new NpgsqlConnection(PostgresServers.Primary.ConnectionString("no_such_database") + ";Pooling=false");
            await connection.OpenAsync();
        });

        Assert.Multiple(() =>
        {
            Assert.That(Classifier.Classify(terminated), Is.EqualTo(HelixErrorKind.StrandFault), "terminated by an administrator (57P01)");
            Assert.That((timedOut as PostgresException)?.SqlState, Is.EqualTo("57014"));
            Assert.That(Classifier.Classify(timedOut), Is.EqualTo(HelixErrorKind.StrandFault), "statement timeout (57014)");
            Assert.That((limited as PostgresException)?.SqlState, Is.EqualTo("53300"));
            Assert.That(Classifier.Classify(limited), Is.EqualTo(HelixErrorKind.StrandFault), "too many connections (53300)");
            Assert.That((missing as PostgresException)?.SqlState, Is.EqualTo("3D000"));
            Assert.That(Classifier.Classify(missing), Is.EqualTo(HelixErrorKind.StrandFault), "the database is missing on this strand (3D000)");
        });
    }
}
