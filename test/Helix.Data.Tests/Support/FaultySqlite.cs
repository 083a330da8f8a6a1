using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.Sqlite;

namespace Helix.Data.Tests.Support;

/// <summary>Decides, per strand, which opens and executions fail and how. Thread-safe; change it at any time.</summary>
internal sealed class FaultPlan
{
    private volatile Func<Exception>? _open;
    private volatile Func<string, Exception?>? _execute;
    private volatile Action<string>? _before;
    private volatile Func<string, bool>? _hold;
    private volatile TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile TaskCompletionSource _cancellationsAnswered = Answered();
    private int _heldNow;
    private int _heldCancelled;
    private int _executions;
    private int _connectionsMade;
    private int _connectionsDisposed;
    private int _opensOfOpenConnections;

    public int Executions => Volatile.Read(ref _executions);

    /// <summary>Gets how many connection objects the strand's data source made.</summary>
    public int ConnectionsMade => Volatile.Read(ref _connectionsMade);

    /// <summary>Gets how many of them were disposed.</summary>
    public int ConnectionsDisposed => Volatile.Read(ref _connectionsDisposed);

    /// <summary>Gets how many times a connection object was opened while it was open: two users of one object.</summary>
    public int OpensOfOpenConnections => Volatile.Read(ref _opensOfOpenConnections);

    /// <summary>Gets the connection object the strand's data source made last.</summary>
    public DbConnection? LastMade { get; private set; }

    public void OnConnectionMade(DbConnection connection)
    {
        Interlocked.Increment(ref _connectionsMade);
        LastMade = connection;
    }

    public void OnConnectionDisposed() => Interlocked.Increment(ref _connectionsDisposed);

    /// <summary>
    /// A strand fault as SQLite reports one: SQLITE_BUSY. Met by a statement on an open connection, it also says the
    /// statement had no effect (contract amendment 31): the write is not in doubt, and the strand is not failed for it.
    /// </summary>
    public static Exception Busy() => new SqliteException("SQLite Error 5: 'database is locked'.", 5);

    /// <summary>A strand fault that says nothing of the statement's outcome: SQLITE_IOERR.</summary>
    public static Exception IoError() => new SqliteException("SQLite Error 10: 'disk I/O error'.", 10);

    /// <summary>A statement error as SQLite reports one: SQLITE_CONSTRAINT.</summary>
    public static Exception Constraint() => new SqliteException("SQLite Error 19: 'UNIQUE constraint failed'.", 19);

    /// <summary>
    /// Gets or sets whether asynchronous executions return before they run (as a provider waiting on I/O does), instead of
    /// completing on the caller's thread as Microsoft.Data.Sqlite does.
    /// </summary>
    public bool AsyncExecutionsYield { get; set; }

    /// <summary>Gets or sets whether asynchronous opens return before they run, as a provider making a new physical connection does.</summary>
    public bool AsyncOpensYield { get; set; }

    /// <summary>
    /// Gets or sets whether an asynchronous execution runs, and throws, before it returns its task, as Microsoft.Data.Sqlite's
    /// do, instead of returning a faulted task as <see cref="DbCommand"/>'s default does.
    /// </summary>
    public bool AsyncExecutionsThrowAtOnce { get; set; }

    public void FailOpens(Func<Exception> error) => _open = error;

    /// <summary>Fails every execution whose text the filter accepts (all when it is null).</summary>
    public void FailExecutions(Func<Exception> error, Func<string, bool>? filter = null) =>
        _execute = text => filter is null || filter(text) ? error() : null;

    /// <summary>Runs before every execution (after the fault check passes): to make a strand slow on a fake clock, or to record order.</summary>
    public void BeforeExecute(Action<string>? action) => _before = action;

    /// <summary>
    /// Holds asynchronous reader executions whose text the filter accepts until <see cref="ReleaseHeld"/>, as a strand
    /// that turned slow: each waits on its command's cancellation token, as a provider waiting on the network does.
    /// </summary>
    public void Hold(Func<string, bool> filter)
    {
        _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _hold = filter;
    }

    /// <summary>Makes a held execution that is cancelled end only at <see cref="AnswerCancellations"/>, as one whose server is slow to answer a cancel request.</summary>
    public void DelayCancellations() => _cancellationsAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Lets the cancelled executions end.</summary>
    public void AnswerCancellations() => _cancellationsAnswered.TrySetResult();

    /// <summary>Lets the held executions, and the ones that come later, run.</summary>
    public void ReleaseHeld()
    {
        _hold = null;
        _released.TrySetResult();
    }

    /// <summary>Gets how many executions are being held now.</summary>
    public int HeldNow => Volatile.Read(ref _heldNow);

    /// <summary>Gets how many held executions ended because their command was cancelled.</summary>
    public int HeldCancelled => Volatile.Read(ref _heldCancelled);

    private static TaskCompletionSource Answered()
    {
        var answered = new TaskCompletionSource();
        answered.SetResult();
        return answered;
    }

    public bool Holds(string text) => _hold?.Invoke(text) == true;

    public async Task WaitWhileHeldAsync(string text, CancellationToken cancellationToken)
    {
        if (!Holds(text))
        {
            return;
        }

        Interlocked.Increment(ref _heldNow);
        try
        {
            await _released.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // As a provider's cancellation does, which asks the server and waits for its answer: the execution ends
            // after the cancelling call has returned, not inside it; with DelayCancellations, once the test says so.
            Interlocked.Increment(ref _heldCancelled);
            await Task.Yield();
            await _cancellationsAnswered.Task;
            throw;
        }
        finally
        {
            Interlocked.Decrement(ref _heldNow);
        }
    }

    public void Heal()
    {
        _open = null;
        _execute = null;
    }

    public void OnOpen(ConnectionState state)
    {
        if (state != ConnectionState.Closed)
        {
            Interlocked.Increment(ref _opensOfOpenConnections);
        }

        if (_open is { } open)
        {
            throw open();
        }
    }

    public void OnExecute(string text)
    {
        Interlocked.Increment(ref _executions);
        if (_execute?.Invoke(text) is { } error)
        {
            throw error;
        }

        _before?.Invoke(text);
    }
}

/// <summary>A SQLite provider with a fault-injecting wrapper at the strand boundary.</summary>
internal sealed class FaultySqliteFactory : DbProviderFactory
{
    public static readonly FaultySqliteFactory Instance = new();

    public override DbParameter CreateParameter() => new SqliteParameter();

    public override DbConnectionStringBuilder CreateConnectionStringBuilder() => new SqliteConnectionStringBuilder();
}

internal sealed class FaultySqliteDataSource(string connectionString, FaultPlan plan) : DbDataSource
{
    public override string ConnectionString => connectionString;

    protected override DbConnection CreateDbConnection()
    {
        var connection = new FaultySqliteConnection(new SqliteConnection(connectionString), plan);
        plan.OnConnectionMade(connection);
        return connection;
    }
}

internal sealed class FaultySqliteConnection(SqliteConnection inner, FaultPlan plan) : DbConnection
{
    [AllowNull]
    public override string ConnectionString
    {
        get => inner.ConnectionString;
        set => inner.ConnectionString = value;
    }

    public override string Database => inner.Database;

    public override string DataSource => inner.DataSource;

    public override string ServerVersion => inner.ServerVersion;

    public override ConnectionState State => inner.State;

    protected override DbProviderFactory DbProviderFactory => FaultySqliteFactory.Instance;

    public override void ChangeDatabase(string databaseName) => inner.ChangeDatabase(databaseName);

    public override void Close() => inner.Close();

    public override void Open()
    {
        plan.OnOpen(inner.State);
        inner.Open();
    }

    public override Task OpenAsync(CancellationToken cancellationToken)
    {
        if (plan.AsyncOpensYield)
        {
            return OpenLaterAsync();
        }

        plan.OnOpen(inner.State);
        return inner.OpenAsync(cancellationToken);

        async Task OpenLaterAsync()
        {
            await Task.Yield();
            plan.OnOpen(inner.State);
            await inner.OpenAsync(cancellationToken);
        }
    }

    protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => new FaultySqliteTransaction(inner.BeginTransaction(isolationLevel), this, plan);

    protected override DbCommand CreateDbCommand() => new FaultySqliteCommand(inner.CreateCommand(), this, plan);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            plan.OnConnectionDisposed();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

internal sealed class FaultySqliteCommand(SqliteCommand inner, FaultySqliteConnection connection, FaultPlan plan) : DbCommand
{
    [AllowNull]
    public override string CommandText
    {
        get => inner.CommandText;
        set => inner.CommandText = value;
    }

    public override int CommandTimeout
    {
        get => inner.CommandTimeout;
        set => inner.CommandTimeout = value;
    }

    public override CommandType CommandType
    {
        get => inner.CommandType;
        set => inner.CommandType = value;
    }

    public override bool DesignTimeVisible { get; set; }

    public override UpdateRowSource UpdatedRowSource
    {
        get => inner.UpdatedRowSource;
        set => inner.UpdatedRowSource = value;
    }

    protected override DbConnection? DbConnection
    {
        get => connection;
        set => throw new NotSupportedException();
    }

    protected override DbParameterCollection DbParameterCollection => inner.Parameters;

    protected override DbTransaction? DbTransaction
    {
        get => inner.Transaction;
        set => inner.Transaction = value is FaultySqliteTransaction faulty ? faulty.Inner : (SqliteTransaction?)value;
    }

    public override void Cancel() => inner.Cancel();

    public override int ExecuteNonQuery()
    {
        plan.OnExecute(CommandText);
        return inner.ExecuteNonQuery();
    }

    public override async Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken)
    {
        if (plan.AsyncExecutionsYield)
        {
            await Task.Yield();
        }

        return await base.ExecuteNonQueryAsync(cancellationToken);
    }

    public override object? ExecuteScalar()
    {
        plan.OnExecute(CommandText);
        return inner.ExecuteScalar();
    }

    public override void Prepare() => inner.Prepare();

    protected override DbParameter CreateDbParameter() => inner.CreateParameter();

    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
    {
        plan.OnExecute(CommandText);
        return inner.ExecuteReader(behavior);
    }

    protected override Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken)
    {
        if (plan.AsyncExecutionsThrowAtOnce)
        {
            return Task.FromResult(ExecuteDbDataReader(behavior));
        }

        return plan.AsyncExecutionsYield || plan.Holds(CommandText) ? ExecuteLaterAsync() : base.ExecuteDbDataReaderAsync(behavior, cancellationToken);

        async Task<DbDataReader> ExecuteLaterAsync()
        {
            await Task.Yield();
            await plan.WaitWhileHeldAsync(CommandText, cancellationToken);
            return await base.ExecuteDbDataReaderAsync(behavior, cancellationToken);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>A SQLite transaction whose commit and savepoints the plan can fail (it sees the texts <c>COMMIT</c> and <c>SAVEPOINT name</c>).</summary>
internal sealed class FaultySqliteTransaction(SqliteTransaction inner, FaultySqliteConnection connection, FaultPlan plan) : DbTransaction
{
    public SqliteTransaction Inner => inner;

    public override IsolationLevel IsolationLevel => inner.IsolationLevel;

    public override bool SupportsSavepoints => inner.SupportsSavepoints;

    protected override DbConnection? DbConnection => inner.Connection is null ? null : connection;

    public override void Commit()
    {
        plan.OnExecute("COMMIT");
        inner.Commit();
    }

    public override void Rollback() => inner.Rollback();

    public override void Save(string savepointName)
    {
        plan.OnExecute("SAVEPOINT " + savepointName);
        inner.Save(savepointName);
    }

    public override void Rollback(string savepointName)
    {
        plan.OnExecute("ROLLBACK TO SAVEPOINT " + savepointName);
        inner.Rollback(savepointName);
    }

    public override void Release(string savepointName) => inner.Release(savepointName);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
