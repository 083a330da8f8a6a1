using System.Data;
using System.Data.SqlTypes;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Helix.Data.Internal;
using Helix.Data.Replay;
using Microsoft.Data.SqlClient;
using Microsoft.Data.SqlClient.Server;

namespace Helix.Data.Tests;

/// <summary>
/// SQL Server's types, for real, without a SQL Server (none can run here; docs/sqlserver.md): genuine
/// <see cref="SqlException"/>s from Microsoft.Data.SqlClient, <see cref="SqlParameter"/> settings copied per strand, and
/// the replay queue's answer to SQL Server's own value types.
/// </summary>
public class SqlServerTests
{
    private static HelixErrorKind Classify(Exception e) => HelixErrorClassifier.Default.Classify(e);

    [Test]
    public void A_server_that_refuses_connections_is_a_strand_fault()
    {
        var port = Helix.Data.Testing.Ports.FreeBelowEphemeral(); // nothing listens there
        using var connection = new SqlConnection($"Server=tcp:127.0.0.1,{port};Connect Timeout=2;Encrypt=false");
        var e = Assert.Throws<SqlException>(connection.Open);
        Assert.That(Classify(e!), Is.EqualTo(HelixErrorKind.StrandFault), $"{e!.Number} class {e.Class}: {e.Message}");
    }

    [Test]
    public void A_server_that_never_answers_the_handshake_is_a_strand_fault()
    {
        using var silent = new TcpListener(IPAddress.Loopback, Helix.Data.Testing.Ports.FreeBelowEphemeral());
        silent.Start();
        using var connection = new SqlConnection($"Server=tcp:127.0.0.1,{((IPEndPoint)silent.LocalEndpoint).Port};Connect Timeout=1;Encrypt=false");
        var e = Assert.Throws<SqlException>(connection.Open);
        Assert.Multiple(() =>
        {
            Assert.That(e!.Number, Is.EqualTo(-2), e.Message);
            Assert.That(Classify(e), Is.EqualTo(HelixErrorKind.StrandFault));
        });
    }

    /// <summary>Server errors, built the way SqlClient builds them from the server's answer (its own SqlError and SqlException factory).</summary>
    [TestCase(1205, 13, HelixErrorKind.StrandFault, TestName = "deadlock victim (1205)")]
    [TestCase(40613, 16, HelixErrorKind.StrandFault, TestName = "database unavailable (40613)")]
    [TestCase(4060, 11, HelixErrorKind.StrandFault, TestName = "cannot open database (4060)")]
    [TestCase(18456, 14, HelixErrorKind.StrandFault, TestName = "login failed (18456)")]
    [TestCase(50000, 20, HelixErrorKind.StrandFault, TestName = "fatal severity 20")]
    [TestCase(2627, 14, HelixErrorKind.StatementError, TestName = "unique key violation (2627)")]
    [TestCase(2601, 14, HelixErrorKind.StatementError, TestName = "duplicate key in unique index (2601)")]
    [TestCase(547, 16, HelixErrorKind.StatementError, TestName = "constraint conflict (547)")]
    [TestCase(102, 15, HelixErrorKind.StatementError, TestName = "syntax error (102)")]
    [TestCase(208, 16, HelixErrorKind.StatementError, TestName = "invalid object name (208)")]
    [TestCase(8152, 16, HelixErrorKind.StatementError, TestName = "string or binary data would be truncated (8152)")]
    public void Server_errors_by_number_and_severity(int number, byte severity, HelixErrorKind expected)
    {
        var e = ServerError(number, severity);
        Assert.Multiple(() =>
        {
            Assert.That(e.Number, Is.EqualTo(number));
            Assert.That(e.Class, Is.EqualTo(severity));
            Assert.That(Classify(e), Is.EqualTo(expected), e.Message);
        });
    }

    [Test]
    public void A_SqlParameter_reaches_a_SQL_Server_strand_with_every_setting()
    {
        var table = new DataTable();
        table.Columns.Add("id", typeof(Guid));
        table.Rows.Add(Guid.CreateVersion7());
        var parameters = new[]
        {
            new SqlParameter("@name", SqlDbType.NVarChar, 50) { Value = "Alice" },
            new SqlParameter("@price", SqlDbType.Decimal) { Precision = 10, Scale = 2, Value = 9.99m },
            new SqlParameter("@ids", SqlDbType.Structured) { TypeName = "dbo.IdList", Value = table },
            new SqlParameter("@where", SqlDbType.Udt) { UdtTypeName = "geography", Value = DBNull.Value },
            new SqlParameter("@at", SqlDbType.DateTime2) { Scale = 3, Value = new DateTime(2026, 12, 3, 12, 0, 0, DateTimeKind.Utc) },
            new SqlParameter("@out", SqlDbType.Int) { Direction = ParameterDirection.Output },
        };
        foreach (var source in parameters)
        {
            var copy = (SqlParameter)ParameterCopier.CopyFor(source, SqlClientFactory.Instance, ownValue: true);
            Assert.Multiple(() =>
            {
                Assert.That(copy, Is.Not.SameAs(source), "each strand gets its own parameter");
                Assert.That(copy.ParameterName, Is.EqualTo(source.ParameterName));
                Assert.That(copy.SqlDbType, Is.EqualTo(source.SqlDbType), source.ParameterName);
                Assert.That(copy.Size, Is.EqualTo(source.Size), source.ParameterName);
                Assert.That(copy.Precision, Is.EqualTo(source.Precision), source.ParameterName);
                Assert.That(copy.Scale, Is.EqualTo(source.Scale), source.ParameterName);
                Assert.That(copy.TypeName, Is.EqualTo(source.TypeName), source.ParameterName);
                Assert.That(copy.UdtTypeName, Is.EqualTo(source.UdtTypeName), source.ParameterName);
                Assert.That(copy.Direction, Is.EqualTo(source.Direction), source.ParameterName);
                Assert.That(copy.Value, Is.EqualTo(source.Value), source.ParameterName);
            });
        }
    }

    [Test]
    public void A_generic_parameter_becomes_a_SqlParameter_with_the_caller_s_type_and_size()
    {
        var source = new HelixParameter { ParameterName = "@code", DbType = DbType.AnsiString, Size = 12, Value = "A-1" };
        var copy = (SqlParameter)ParameterCopier.CopyFor(source, SqlClientFactory.Instance, ownValue: true);
        Assert.Multiple(() =>
        {
            Assert.That(copy.SqlDbType, Is.EqualTo(SqlDbType.VarChar));
            Assert.That(copy.Size, Is.EqualTo(12));
            Assert.That(copy.Value, Is.EqualTo("A-1"));
        });
    }

    /// <summary>
    /// SQL Server's own value types are kept by the in-memory queue (it holds the objects); a durable queue cannot store
    /// them, and says so before anything runs, naming the parameter and the type, with what to do instead.
    /// </summary>
    [TestCaseSource(nameof(SqlServerValues))]
    public void A_durable_queue_refuses_SQL_Server_value_types_before_anything_runs(object value)
    {
        Assert.That(HelixReplaySerializer.CanStore(value), Is.False);
        var e = Assert.Throws<NotSupportedException>(() => HelixReplaySerializer.ThrowIfCannotStore("@v", value));
        Assert.That(e!.Message, Does.Contain("Parameter '@v'").And.Contain(value.GetType().FullName).And.Contain("refused before anything ran").And.Contain("Replay=Memory"));
    }

    private static IEnumerable<object> SqlServerValues()
    {
        yield return new SqlDecimal(1.5m);
        yield return new SqlMoney(2.25m);
        yield return new SqlDateTime(2026, 12, 3);
        yield return new SqlString("x");
        yield return new DataTable("ids");
        yield return new[] { new SqlDataRecord(new SqlMetaData("id", SqlDbType.Int)) };
    }

    private static SqlException ServerError(int number, byte severity)
    {
        const BindingFlags Internal = BindingFlags.NonPublic | BindingFlags.Instance;
        var error = (SqlError)typeof(SqlError).GetConstructors(Internal)
            .Single(c => c.GetParameters().Select(p => p.ParameterType).SequenceEqual([typeof(int), typeof(byte), typeof(byte), typeof(string), typeof(string), typeof(string), typeof(int), typeof(Exception)]))
            .Invoke([number, (byte)1, severity, "sql-a", $"SQL Server error {number}", string.Empty, 1, null]);
        var errors = (SqlErrorCollection)typeof(SqlErrorCollection).GetConstructors(Internal).Single().Invoke([]);
        typeof(SqlErrorCollection).GetMethod("Add", Internal)!.Invoke(errors, [error]);
        return (SqlException)typeof(SqlException).GetMethod("CreateException", BindingFlags.NonPublic | BindingFlags.Static, [typeof(SqlErrorCollection), typeof(string)])!
            .Invoke(null, [errors, "17.00.1000"])!;
    }
}
