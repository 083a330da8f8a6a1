using System.Collections.Concurrent;
using System.Data.Common;
using System.Net.Sockets;
using System.Reflection;

namespace Helix.Data;

/// <summary>
/// Decides whether an error raised by an inner provider is a <see cref="HelixErrorKind.StrandFault"/> (the strand is
/// unreachable or did not answer) or a <see cref="HelixErrorKind.StatementError"/> (the strand answered and refused
/// this statement).
/// </summary>
/// <remarks>
/// <para>
/// The default classifier knows Npgsql (SQLSTATE classes 08, 40, 53, 55, 57, 58 and others are faults),
/// Microsoft.Data.SqlClient (error numbers of connection loss, timeouts, deadlocks and throttling, and severity 20 and
/// above), Microsoft.Data.Sqlite (busy, locked, I/O, can't-open and similar result codes), MySqlConnector (error numbers
/// of connection loss, shutdown, lock waits, deadlocks, timeouts and kills; other server errors are statement errors)
/// and any provider that sets
/// <see cref="DbException.IsTransient"/> or <see cref="DbException.SqlState"/>. It does not reference those providers:
/// it recognises them by type name.
/// </para>
/// <para>
/// Errors it does not recognise count as strand faults, because replaying a write that did not need it is safer than
/// dropping one that did. Derive from this class and override <see cref="Classify"/> to change a decision; call the base
/// method for everything else. Install it with <see cref="HelixDataSourceBuilder.UseErrorClassifier"/>.
/// </para>
/// </remarks>
public class HelixErrorClassifier
{
    // SQLSTATE classes in which the server answered and refused the statement itself. Everything else (08 connection,
    // 40 transaction rollback, 53 resources, 55 lock not available, 57 operator intervention, 58 system, XX internal...)
    // is a strand fault: the statement may well succeed once the strand is back.
    private static readonly HashSet<string> StatementSqlStateClasses = new(StringComparer.OrdinalIgnoreCase)
    {
        "0A", "20", "21", "22", "23", "24", "25", "26", "27", "2B", "2D", "2F", "34", "38", "39", "3B", "3F", "42", "44", "54", "P0",
    };

    // SQLite primary result codes that describe the statement: ERROR (syntax, no such table), TOOBIG, CONSTRAINT,
    // MISMATCH, MISUSE, RANGE. BUSY, LOCKED, IOERR, CANTOPEN, FULL, READONLY and the rest describe the database file.
    private static readonly HashSet<int> SqliteStatementCodes = [1, 18, 19, 20, 21, 25];

    // SQL Server error numbers that mean the server could not be reached or could not serve the request right now.
    private static readonly HashSet<int> SqlServerFaultNumbers =
    [
        -2, -1, 2, 53, 64, 121, 233, 258, 1205, 1222, 4060, 4221, 10053, 10054, 10060, 10061, 10928, 10929, 11001,
        18456, 40143, 40197, 40501, 40540, 40613, 42108, 42109, 49918, 49919, 49920,
    ];

    // MySQL/MariaDB error numbers that mean the server is unreachable, overloaded, shutting down, read-only, or gave up
    // on the statement for reasons of its own (lock wait timeout, deadlock, statement timeout, killed query or connection);
    // -1 is MySqlConnector's own command timeout.
    private static readonly HashSet<int> MySqlFaultNumbers =
    [
        -1, 1040, 1041, 1042, 1043, 1045, 1053, 1077, 1078, 1079, 1080, 1129, 1130, 1152, 1154, 1155, 1156, 1157, 1158,
        1159, 1160, 1161, 1184, 1205, 1213, 1290, 1317, 1792, 1836, 1927, 1969, 2002, 2003, 2006, 2013, 3024, 4031,
    ];

    private static readonly ConcurrentDictionary<(Type, string), PropertyInfo?> Properties = new();

    /// <summary>Gets the default classifier.</summary>
    public static HelixErrorClassifier Default { get; } = new();

    /// <summary>Classifies an error raised by an inner provider while it opened a connection or executed a statement.</summary>
    /// <param name="exception">The error. Cancellation requested by the caller never reaches the classifier.</param>
    /// <returns>What the error says about the strand.</returns>
    public virtual HelixErrorKind Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            AggregateException { InnerExceptions.Count: 1 } aggregate => Classify(aggregate.InnerExceptions[0]),
            DbException db => ClassifyDbException(db),
            TimeoutException or IOException or SocketException or ObjectDisposedException => HelixErrorKind.StrandFault,

            // The client library refused the statement or its parameters before sending it: every strand would.
            ArgumentException or InvalidCastException or FormatException or OverflowException or NotSupportedException
                or InvalidOperationException => HelixErrorKind.StatementError,
            _ => HelixErrorKind.StrandFault,
        };
    }

    /// <summary>
    /// Says whether a strand fault proves that the strand did not apply the statement, so that a write outside a
    /// transaction may run again on the same strand (<c>Strand Retry</c>): the server rolled the statement back
    /// (a deadlock, a serialization failure, a lock wait that timed out) or refused the session before running it (too
    /// many connections, starting up, shutting down). A connection lost while the statement ran proves nothing: the
    /// strand may have applied it, and a retry could apply it twice.
    /// </summary>
    /// <param name="exception">The strand fault.</param>
    /// <returns><see langword="true"/> when the statement certainly had no effect on the strand.</returns>
    /// <remarks>
    /// The default knows PostgreSQL (SQLSTATE 40001, 40P01, 55P03, 53300, 57P03), SQLite (busy, locked), SQL Server
    /// (1205, 1222, 10928, 10929, 40501) and MySQL/MariaDB (1040, 1205, 1213). Override to add more; a write that is
    /// not retried is not lost: it is queued for the strand as any missed write is.
    /// </remarks>
    public virtual bool IsSafeToRetry(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            return IsSafeToRetry(aggregate.InnerExceptions[0]);
        }

        if (exception is not DbException db)
        {
            return false;
        }

        return db.GetType().FullName switch
        {
            "Npgsql.PostgresException" => db.SqlState is "40001" or "40P01" or "55P03" or "53300" or "57P03",
            "Microsoft.Data.Sqlite.SqliteException" => ReadProperty<int>(db, "SqliteErrorCode") is 5 or 6,
            "Microsoft.Data.SqlClient.SqlException" or "System.Data.SqlClient.SqlException" => ReadProperty<int>(db, "Number") is 1205 or 1222 or 10928 or 10929 or 40501,
            "MySqlConnector.MySqlException" or "MySql.Data.MySqlClient.MySqlException" => ReadProperty<int>(db, "Number") is 1040 or 1205 or 1213,
            _ => false,
        };
    }

    /// <summary>
    /// Whether the server ended the statement itself, so that the statement took no effect of its own (a command of
    /// several may have kept the statements before it): the server rolled it back (<see cref="IsSafeToRetry"/>),
    /// its time ran out on the server (PostgreSQL 57014, MySQL/MariaDB 1317, 1969, 3024), or the provider's command timeout
    /// cancelled it on the server (Npgsql's exception around a <see cref="TimeoutException"/>, MySqlConnector's -1). The caller also
    /// checks that the connection survived: a provider whose cancellation the server did not confirm breaks its
    /// connection, and then nothing says where the statement stood.
    /// </summary>
    internal bool ServerEndedStatement(Exception exception)
    {
        if (IsSafeToRetry(exception))
        {
            return true;
        }

        return Unwrapped(exception) switch
        {
            DbException db => db.GetType().FullName switch
            {
                "Npgsql.PostgresException" => db.SqlState == "57014",
                "Npgsql.NpgsqlException" => db.InnerException is TimeoutException, // Npgsql cancels the statement at its command timeout
                "MySqlConnector.MySqlException" or "MySql.Data.MySqlClient.MySqlException" => ReadProperty<int>(db, "Number") is -1 or 1317 or 1969 or 3024,
                _ => false,
            },
            _ => false, // a bare TimeoutException says nothing of what the server did
        };
    }

    /// <summary>
    /// Whether an error a server raised inside a transaction ended the transaction there, so that its commit commits
    /// nothing: PostgreSQL aborts a transaction on any error (its <c>COMMIT</c> then rolls back, without an error), MySQL
    /// and MariaDB roll it back on a deadlock (1213). Other providers keep the transaction after a refused statement.
    /// </summary>
    internal static bool EndsTransaction(Exception exception) => Unwrapped(exception) switch
    {
        DbException db => db.GetType().FullName switch
        {
            "Npgsql.PostgresException" => true,
            "MySqlConnector.MySqlException" or "MySql.Data.MySqlClient.MySqlException" => ReadProperty<int>(db, "Number") == 1213,
            _ => false,
        },
        _ => false,
    };

    /// <summary>
    /// Whether the client library refused to run the statement on the connection as it stands, before sending anything:
    /// the connection is busy with another command or an open reader (Npgsql's
    /// <c>NpgsqlOperationInProgressException</c>; MySqlConnector and SqlClient throw an
    /// <see cref="InvalidOperationException"/>), or not in a state to run it. No strand's database saw it.
    /// </summary>
    internal static bool RefusedBeforeSending(Exception exception) => Unwrapped(exception) switch
    {
        InvalidOperationException => true,
        DbException db => db.GetType().FullName == "Npgsql.NpgsqlOperationInProgressException",
        _ => false,
    };

    /// <summary>
    /// The error inside an <see cref="AggregateException"/> of one (a synchronous wait on a task wraps it), however deep;
    /// any other error as it is. The public virtual methods unwrap by calling themselves, so that an override sees the
    /// inner error too.
    /// </summary>
    private static Exception Unwrapped(Exception exception) =>
        exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? Unwrapped(aggregate.InnerExceptions[0]) : exception;

    private HelixErrorKind ClassifyDbException(DbException exception)
    {
        switch (exception.GetType().FullName)
        {
            case "Npgsql.PostgresException":
                return ClassifySqlState(exception.SqlState);
            case "Npgsql.NpgsqlOperationInProgressException":
                // The caller started a command while another one, or a reader, was still busy on the connection.
                return HelixErrorKind.StatementError;
            case "Npgsql.NpgsqlException":
                // Raised by the client for network, protocol and timeout problems, never for a refused statement.
                return HelixErrorKind.StrandFault;
            case "Microsoft.Data.Sqlite.SqliteException":
                return ReadProperty<int>(exception, "SqliteErrorCode") is { } code && SqliteStatementCodes.Contains(code)
                    ? HelixErrorKind.StatementError
                    : HelixErrorKind.StrandFault;
            case "Microsoft.Data.SqlClient.SqlException":
            case "System.Data.SqlClient.SqlException":
                return ClassifySqlServer(exception);
            case "MySqlConnector.MySqlException":
            case "MySql.Data.MySqlClient.MySqlException":
                return ClassifyMySql(exception);
            default:
                if (exception.IsTransient)
                {
                    return HelixErrorKind.StrandFault;
                }

                return exception.SqlState is { Length: 5 } state ? ClassifySqlState(state) : HelixErrorKind.StrandFault;
        }
    }

    private static HelixErrorKind ClassifySqlState(string? sqlState) =>
        sqlState is { Length: 5 } && StatementSqlStateClasses.Contains(sqlState[..2])
            ? HelixErrorKind.StatementError
            : HelixErrorKind.StrandFault;

    private static HelixErrorKind ClassifySqlServer(DbException exception)
    {
        if (exception.IsTransient)
        {
            return HelixErrorKind.StrandFault;
        }

        var number = ReadProperty<int>(exception, "Number");
        var severity = ReadProperty<byte>(exception, "Class");
        return number is { } n && SqlServerFaultNumbers.Contains(n) || severity >= 20
            ? HelixErrorKind.StrandFault
            : HelixErrorKind.StatementError;
    }

    /// <summary>
    /// MySQL and MariaDB send most refusals with the catch-all SQLSTATE <c>HY000</c> (no default value, a SIGNAL of the
    /// application's), so a server error is a statement error unless its number, or its SQLSTATE class (08 connection,
    /// 40 rollback, 70 killed), says otherwise. An error with no SQLSTATE came from the client library: a lost connection
    /// carries its cause (an end of stream, a socket error), classified in turn; a refusal before anything was sent (a
    /// parameter that is not defined) carries none.
    /// </summary>
    private HelixErrorKind ClassifyMySql(DbException exception)
    {
        if (exception.IsTransient || ReadProperty<int>(exception, "Number") is { } number && MySqlFaultNumbers.Contains(number))
        {
            return HelixErrorKind.StrandFault;
        }

        if (exception.SqlState is { Length: 5 } state)
        {
            return state[..2] is "08" or "40" or "70" ? HelixErrorKind.StrandFault : HelixErrorKind.StatementError;
        }

        return exception.InnerException is { } cause ? Classify(cause) : HelixErrorKind.StatementError;
    }

    private static T? ReadProperty<T>(object instance, string name)
        where T : struct
    {
        var property = Properties.GetOrAdd((instance.GetType(), name), static key => key.Item1.GetProperty(key.Item2, BindingFlags.Public | BindingFlags.Instance));
        return property?.GetValue(instance) is T value ? value : null;
    }
}
