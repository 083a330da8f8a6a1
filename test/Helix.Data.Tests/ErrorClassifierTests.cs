using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Helix.Data.Tests;

/// <summary>The default classification of provider errors into strand faults and statement errors.</summary>
public class ErrorClassifierTests
{
    private static readonly HelixErrorClassifier Classifier = HelixErrorClassifier.Default;

    [TestCase("08006", HelixErrorKind.StrandFault)] // connection failure
    [TestCase("08001", HelixErrorKind.StrandFault)]
    [TestCase("53300", HelixErrorKind.StrandFault)] // too many connections
    [TestCase("57P01", HelixErrorKind.StrandFault)] // admin shutdown
    [TestCase("57P03", HelixErrorKind.StrandFault)] // cannot connect now
    [TestCase("57014", HelixErrorKind.StrandFault)] // query cancelled (statement timeout)
    [TestCase("40001", HelixErrorKind.StrandFault)] // serialization failure
    [TestCase("40P01", HelixErrorKind.StrandFault)] // deadlock
    [TestCase("55P03", HelixErrorKind.StrandFault)] // lock not available
    [TestCase("58030", HelixErrorKind.StrandFault)] // I/O error
    [TestCase("XX000", HelixErrorKind.StrandFault)] // internal error
    [TestCase("3D000", HelixErrorKind.StrandFault)] // database does not exist on this strand
    [TestCase("28P01", HelixErrorKind.StrandFault)] // password authentication failed on this strand
    [TestCase("23505", HelixErrorKind.StatementError)] // unique violation
    [TestCase("23503", HelixErrorKind.StatementError)] // foreign key violation
    [TestCase("42601", HelixErrorKind.StatementError)] // syntax error
    [TestCase("42P01", HelixErrorKind.StatementError)] // undefined table
    [TestCase("42501", HelixErrorKind.StatementError)] // insufficient privilege
    [TestCase("22P02", HelixErrorKind.StatementError)] // invalid text representation
    [TestCase("P0001", HelixErrorKind.StatementError)] // raise_exception
    [TestCase("0A000", HelixErrorKind.StatementError)] // feature not supported
    public void PostgreSQL_errors_by_SQLSTATE(string sqlState, HelixErrorKind expected) =>
        Assert.That(Classifier.Classify(new PostgresException("msg", "ERROR", "ERROR", sqlState)), Is.EqualTo(expected));

    [Test]
    public void Npgsql_client_errors_are_strand_faults() =>
        Assert.That(Classifier.Classify(new NpgsqlException("Exception while reading from stream", new IOException())), Is.EqualTo(HelixErrorKind.StrandFault));

    [TestCase(5, HelixErrorKind.StrandFault)] // BUSY
    [TestCase(6, HelixErrorKind.StrandFault)] // LOCKED
    [TestCase(10, HelixErrorKind.StrandFault)] // IOERR
    [TestCase(14, HelixErrorKind.StrandFault)] // CANTOPEN
    [TestCase(13, HelixErrorKind.StrandFault)] // FULL
    [TestCase(1, HelixErrorKind.StatementError)] // ERROR: syntax, no such table
    [TestCase(19, HelixErrorKind.StatementError)] // CONSTRAINT
    [TestCase(20, HelixErrorKind.StatementError)] // MISMATCH
    public void SQLite_errors_by_result_code(int code, HelixErrorKind expected) =>
        Assert.That(Classifier.Classify(new SqliteException("msg", code)), Is.EqualTo(expected));

    [Test]
    public void Other_providers_are_classified_by_IsTransient_and_SqlState()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Classifier.Classify(new OtherProviderException(transient: true, sqlState: "23000")), Is.EqualTo(HelixErrorKind.StrandFault));
            Assert.That(Classifier.Classify(new OtherProviderException(transient: false, sqlState: "23000")), Is.EqualTo(HelixErrorKind.StatementError));
            Assert.That(Classifier.Classify(new OtherProviderException(transient: false, sqlState: "08S01")), Is.EqualTo(HelixErrorKind.StrandFault));
            Assert.That(Classifier.Classify(new OtherProviderException(transient: false, sqlState: null)), Is.EqualTo(HelixErrorKind.StrandFault), "unknown: replay is the safe side");
        });
    }

    [Test]
    public void Plain_exceptions_are_classified_by_what_they_say_about_the_strand()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Classifier.Classify(new TimeoutException()), Is.EqualTo(HelixErrorKind.StrandFault));
            Assert.That(Classifier.Classify(new SocketException()), Is.EqualTo(HelixErrorKind.StrandFault));
            Assert.That(Classifier.Classify(new IOException()), Is.EqualTo(HelixErrorKind.StrandFault));
            Assert.That(Classifier.Classify(new InvalidCastException()), Is.EqualTo(HelixErrorKind.StatementError));
            Assert.That(Classifier.Classify(new ArgumentException()), Is.EqualTo(HelixErrorKind.StatementError));
            Assert.That(Classifier.Classify(new NotSupportedException()), Is.EqualTo(HelixErrorKind.StatementError));
            Assert.That(Classifier.Classify(new MysteryException()), Is.EqualTo(HelixErrorKind.StrandFault));
            Assert.That(Classifier.Classify(new AggregateException(new SqliteException("x", 19))), Is.EqualTo(HelixErrorKind.StatementError));
        });
    }

    [Test]
    public void A_derived_classifier_can_override_one_decision()
    {
        var classifier = new DeadlocksAreStatementErrors();
        Assert.Multiple(() =>
        {
            Assert.That(classifier.Classify(new PostgresException("d", "ERROR", "ERROR", "40P01")), Is.EqualTo(HelixErrorKind.StatementError));
            Assert.That(classifier.Classify(new PostgresException("d", "ERROR", "ERROR", "08006")), Is.EqualTo(HelixErrorKind.StrandFault));
        });
    }

    private sealed class DeadlocksAreStatementErrors : HelixErrorClassifier
    {
        public override HelixErrorKind Classify(Exception exception) =>
            exception is PostgresException { SqlState: "40P01" } ? HelixErrorKind.StatementError : base.Classify(exception);
    }

    private sealed class MysteryException : Exception;

    private sealed class OtherProviderException(bool transient, string? sqlState) : DbException("other")
    {
        public override bool IsTransient => transient;

        public override string? SqlState => sqlState;
    }
}
