using MySqlConnector;

using Helix.Data.IntegrationTests.Support;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>
/// Error classification from genuine <see cref="MySqlException"/>s raised by a real MariaDB server and by MySqlConnector
/// itself (docs/errors.md): what the server refused is a statement error; what says the strand is unreachable, busy or
/// gone is a strand fault.
/// </summary>
public class MariaDbClassificationTests : MariaDbTestBase
{
    private static HelixErrorKind Classify(Exception e) => HelixErrorClassifier.Default.Classify(e);

    [SetUp]
    public Task CreateTableAsync() => ExecuteAsync(HelixStrand.Primary, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(5))");

    [TestCase("INSERT INTO t VALUES (1, 1, NULL), (1, 2, NULL)", MySqlErrorCode.DuplicateKeyEntry, TestName = "duplicate key (1062)")]
    [TestCase("INSERT INTO t VALUE (", MySqlErrorCode.ParseError, TestName = "syntax (1064)")]
    [TestCase("SELECT nope FROM t", MySqlErrorCode.BadFieldError, TestName = "unknown column (1054)")]
    [TestCase("SELECT * FROM missing", MySqlErrorCode.NoSuchTable, TestName = "unknown table (1146)")]
    [TestCase("INSERT INTO t (id) VALUES (5)", MySqlErrorCode.NoDefaultForField, TestName = "no default value, SQLSTATE HY000 (1364)")]
    [TestCase("INSERT INTO t VALUES (6, 1, 'too long')", MySqlErrorCode.DataTooLong, TestName = "data too long (1406)")]
    [TestCase("INSERT INTO t VALUES (7, 'x', NULL)", MySqlErrorCode.TruncatedWrongValueForField, TestName = "incorrect integer value (1366)")]
    [TestCase("SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the application'", (MySqlErrorCode)1644, TestName = "SIGNAL 45000 (1644)")]
    public async Task A_statement_the_server_refuses_is_a_statement_error(string sql, MySqlErrorCode expected)
    {
        var e = await FailOnPrimaryAsync(sql);
        Assert.Multiple(() =>
        {
            Assert.That(e.ErrorCode, Is.EqualTo(expected), e.Message);
            Assert.That(Classify(e), Is.EqualTo(HelixErrorKind.StatementError), $"{e.ErrorCode} (SQLSTATE {e.SqlState}): {e.Message}");
        });
    }

    [Test]
    public async Task A_parameter_MySqlConnector_refuses_before_sending_is_a_statement_error()
    {
        var e = await FailOnPrimaryAsync("SELECT @missing");
        Assert.Multiple(() =>
        {
            Assert.That(e.SqlState, Is.Null, "raised by the client library");
            Assert.That(Classify(e), Is.EqualTo(HelixErrorKind.StatementError), e.Message);
        });
    }

    [Test]
    public async Task MySqlConnector_s_command_timeout_is_a_strand_fault()
    {
        await using var connection = await OpenDirectAsync(HelixStrand.Primary);
        await using var command = new MySqlCommand("SELECT SLEEP(5)", connection) { CommandTimeout = 1 };
        var e = Assert.CatchAsync<MySqlException>(() => command.ExecuteScalarAsync());
        AssertFault(e!, MySqlErrorCode.CommandTimeoutExpired);
    }

    [Test]
    public async Task A_deadlock_is_a_strand_fault()
    {
        await ExecuteAsync(HelixStrand.Primary, "INSERT INTO t VALUES (1, 0, NULL), (2, 0, NULL)");
        await using var a = await OpenDirectAsync(HelixStrand.Primary);
        await using var b = await OpenDirectAsync(HelixStrand.Primary);
        await using var ta = await a.BeginTransactionAsync();
        await using var tb = await b.BeginTransactionAsync();
        await new MySqlCommand("UPDATE t SET v = 1 WHERE id = 1", a, ta).ExecuteNonQueryAsync();
        await new MySqlCommand("UPDATE t SET v = 1 WHERE id = 2", b, tb).ExecuteNonQueryAsync();
        var first = new MySqlCommand("UPDATE t SET v = 2 WHERE id = 2", a, ta).ExecuteNonQueryAsync(); // waits for b
        await Eventually.ThatAsync(async () => await LockWaitsAsync() > 0, "a's update waits for b's lock");
        var e = Assert.CatchAsync<MySqlException>(async () =>
        {
            await new MySqlCommand("UPDATE t SET v = 2 WHERE id = 1", b, tb).ExecuteNonQueryAsync(); // closes the cycle
            await first;
        });
        AssertFault(e!, MySqlErrorCode.LockDeadlock);
    }

    [Test]
    public async Task A_lock_wait_timeout_is_a_strand_fault()
    {
        await ExecuteAsync(HelixStrand.Primary, "INSERT INTO t VALUES (1, 0, NULL)");
        await using var holder = await OpenDirectAsync(HelixStrand.Primary);
        await using var held = await holder.BeginTransactionAsync();
        await new MySqlCommand("UPDATE t SET v = 1 WHERE id = 1", holder, held).ExecuteNonQueryAsync();
        var e = await FailOnPrimaryAsync("UPDATE t SET v = 2 WHERE id = 1"); // innodb_lock_wait_timeout is 2 s on the test servers
        AssertFault(e!, MySqlErrorCode.LockWaitTimeout);
    }

    [Test]
    public async Task A_connection_the_server_kills_is_a_strand_fault()
    {
        await using var victim = await OpenDirectAsync(HelixStrand.Primary);
        var id = victim.ServerThread;
        await ExecuteAsync(HelixStrand.Primary, $"KILL CONNECTION {id}");
        var e = Assert.CatchAsync<MySqlException>(() => new MySqlCommand("SELECT 1", victim).ExecuteScalarAsync());
        Describe(e!);
        Assert.That(Classify(e!), Is.EqualTo(HelixErrorKind.StrandFault), $"{e!.ErrorCode} (SQLSTATE {e.SqlState}): {e.Message}");
    }

    [Test]
    public async Task A_query_the_server_kills_is_a_strand_fault()
    {
        await using var victim = await OpenDirectAsync(HelixStrand.Primary);
        var id = victim.ServerThread;
        var running = new MySqlCommand("SELECT SLEEP(30)", victim).ExecuteScalarAsync();
        await Eventually.ThatAsync(async () => await IsSleepingAsync(id), "the query runs");
        await ExecuteAsync(HelixStrand.Primary, $"KILL QUERY {id}");
        var e = Assert.CatchAsync<MySqlException>(() => running);
        Describe(e!);
        AssertFault(e!, MySqlErrorCode.QueryInterrupted);
    }

    /// <summary>MySQL's "server has gone away": the server closed an idle session (its wait_timeout passed), and the client writes to it.</summary>
    [Test]
    public async Task A_session_the_server_closed_as_idle_is_a_strand_fault()
    {
        await using var idle = await OpenDirectAsync(HelixStrand.Primary);
        var id = idle.ServerThread;
        await new MySqlCommand("SET SESSION wait_timeout = 1", idle).ExecuteNonQueryAsync();
        await Eventually.ThatAsync(async () => !await IsConnectedAsync(id), "the server closed the idle session");
        var e = Assert.CatchAsync(() => new MySqlCommand("SELECT 1", idle).ExecuteScalarAsync()); // MySqlConnector lets the socket's error through
        Describe(e!);
        Assert.That(Classify(e!), Is.EqualTo(HelixErrorKind.StrandFault), $"{e!.GetType().Name}: {e.Message}");
    }

    [Test]
    public async Task A_server_that_crashed_under_an_open_connection_is_a_strand_fault()
    {
        MariaDbServers.RequireFaultControl();
        await using var connection = await OpenDirectAsync(HelixStrand.Primary);
        await MariaDbServers.Primary.KillAsync();
        var e = Assert.CatchAsync<MySqlException>(() => new MySqlCommand("SELECT 1", connection).ExecuteScalarAsync());
        Describe(e!);
        Assert.That(Classify(e!), Is.EqualTo(HelixErrorKind.StrandFault), $"{e!.ErrorCode} (SQLSTATE {e.SqlState}): {e.Message}");
    }

    [Test]
    public async Task A_server_that_is_down_is_a_strand_fault()
    {
        MariaDbServers.RequireFaultControl();
        await MariaDbServers.Primary.KillAsync();
        var e = Assert.CatchAsync<MySqlException>(() => OpenDirectAsync(HelixStrand.Primary));
        AssertFault(e!, MySqlErrorCode.UnableToConnectToHost);
    }

    [Test]
    public async Task A_server_shutting_down_is_a_strand_fault()
    {
        MariaDbServers.RequireFaultControl();
        await using var connection = await OpenDirectAsync(HelixStrand.Primary);
        await using var other = await OpenDirectAsync(HelixStrand.Primary);
        await new MySqlCommand("SHUTDOWN", connection).ExecuteNonQueryAsync();
        await MariaDbServers.Primary.WaitUntilStoppedAsync(); // SHUTDOWN answers before the server closes the other sessions
        var e = Assert.CatchAsync(() => new MySqlCommand("SELECT 1", other).ExecuteScalarAsync());
        Describe(e!);
        Assert.That(Classify(e!), Is.EqualTo(HelixErrorKind.StrandFault), $"{e!.GetType().Name}: {e.Message}");
    }

    /// <summary>The error is the one expected, and a strand fault.</summary>
    private static void AssertFault(MySqlException e, MySqlErrorCode expected) => Assert.Multiple(() =>
    {
        Assert.That(e.ErrorCode, Is.EqualTo(expected), e.Message);
        Assert.That(Classify(e), Is.EqualTo(HelixErrorKind.StrandFault));
    });

    private static void Describe(Exception e) =>
        TestContext.Out.WriteLine($"{TestContext.CurrentContext.Test.Name}: {e.GetType().Name} {(e as MySqlException)?.ErrorCode} SQLSTATE {(e as MySqlException)?.SqlState ?? "none"}, cause {e.InnerException?.GetType().Name ?? "none"}: {e.Message}");

    private async Task<MySqlException> FailOnPrimaryAsync(string sql)
    {
        await using var connection = await OpenDirectAsync(HelixStrand.Primary);
        await using var command = new MySqlCommand(sql, connection);
        return Assert.CatchAsync<MySqlException>(() => command.ExecuteNonQueryAsync())!;
    }

    private async Task<long> LockWaitsAsync()
    {
        await using var connection = await OpenDirectAsync(HelixStrand.Primary);
        return Convert.ToInt64(await new MySqlCommand("SELECT COUNT(*) FROM information_schema.INNODB_LOCK_WAITS", connection).ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<bool> IsConnectedAsync(int id)
    {
        await using var connection = await OpenDirectAsync(HelixStrand.Primary);
        return Convert.ToInt64(await new MySqlCommand($"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id}", connection).ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    private async Task<bool> IsSleepingAsync(int id)
    {
        await using var connection = await OpenDirectAsync(HelixStrand.Primary);
        return Convert.ToInt64(await new MySqlCommand($"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id} AND INFO LIKE 'SELECT SLEEP%'", connection).ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }
}
