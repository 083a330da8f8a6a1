using System.Data;
using System.Data.Common;
using System.Runtime.ExceptionServices;
using Helix.Data.Internal;
using Helix.Data.Internal.Execution;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// What Helix holds for one EF Core connection: the <see cref="HelixConnection"/> whose strands run the context's
/// commands, the Helix transaction beside EF's, and the readers handed to EF (their inner commands released when EF
/// disposes them). EF's own connection object stays open on a strand that answers, so that EF sees an open
/// connection; the Helix connection borrows it for that strand while EF holds no transaction on it.
/// </summary>
internal sealed class EfSession(HelixDataSource dataSource) : IDisposable, IAsyncDisposable
{
    // The readers EF holds (a context uses its connection from one thread at a time; most hold one reader or none).
    private readonly List<(DbDataReader Reader, EfStatement Statement, DbCommand Inner, int Strand, Action<DbDataReader>? OnClosed)> _readers = [];

    public HelixConnection Connection { get; } = dataSource.CreateConnection();

    /// <summary>Gets the Helix transaction the context's commands run in: one EF began (<see cref="BeginTransaction"/>) or one the application gave it (<see cref="UseTransaction"/>).</summary>
    public HelixTransaction? Transaction { get; private set; }

    // Whether Transaction is the application's (Database.UseTransaction): the session never ends it, the application does.
    private bool _transactionGiven;

    /// <summary>Gets or sets the native transaction EF began on its connection object, in which no command runs: kept for EF's next transaction until the connection closes.</summary>
    public DbTransaction? ShellTransaction { get; set; }

    /// <summary>Gets or sets the strand connection string EF's connection object was last given.</summary>
    public string? ShellTarget { get; set; }

    /// <summary>Gets or sets the strand (one given as a data source) whose data source made EF's connection object, or <see langword="null"/> when EF's provider made it.</summary>
    public Strand? ShellSource { get; set; }

    /// <summary>Gets or sets the isolation level EF asked for its current transaction.</summary>
    public IsolationLevel? RequestedIsolation { get; set; }

    /// <summary>
    /// Runs an EF command on the strands; the result is EF's: a native reader, a row count or a scalar. A schema change
    /// (a command of migrations or <c>EnsureCreated</c>) runs on the strands one after the other, primary first. A
    /// command no strand could carry out for their faults, with nothing applied, throws a strand's own error, as EF
    /// without Helix gets it (<see cref="ProviderErrors"/>).
    /// </summary>
    public async ValueTask<object?> ExecuteAsync(DbCommand command, Operation operation, CommandBehavior behavior, bool schemaChange, IOBehavior io, CancellationToken cancellationToken)
    {
        try
        {
            return await RunAsync(command, operation, behavior, schemaChange, io, cancellationToken).ConfigureAwait(false);
        }
        catch (HelixException e) when (ProviderErrors.Of(e, Connection.DataSourceOrThrow) is { } own)
        {
            ExceptionDispatchInfo.Throw(own);
            throw;
        }
    }

    private ValueTask<object?> RunAsync(DbCommand command, Operation operation, CommandBehavior behavior, bool schemaChange, IOBehavior io, CancellationToken cancellationToken)
    {
        // EF's command names its transaction; SQLite's also gives a new command the connection's open one on its own,
        // so a command runs in the Helix transaction only while there is one. In a TransactionScope EF names none: the
        // command runs in the Helix transaction that stands for the scope (Enlist).
        var transaction = command.Transaction is null ? Connection.AmbientTransaction : Transaction;
        _typesChanged |= schemaChange && ProviderTypes.Changes(command.CommandText);
        var text = command.CommandType == CommandType.Text ? SqlClassifier.Analyze(command.CommandText) : new(SqlClassifier.IsWrite(command.CommandType, command.CommandText), null);
        var isWrite = operation == Operation.NonQuery || text.IsWrite;
        var tokens = HasServerTokens && !Connection.DataSourceOrThrow.IsSingleStrand && ServerTokens.Mentioned(command.CommandText);
        var checksToken = tokens && isWrite && ServerTokens.Checked(command.CommandText);
        if (checksToken && transaction is null)
        {
            throw new InvalidOperationException(
                "This write checks an xmin concurrency token outside a transaction. Through Helix a token is checked on one strand and the other strand takes the write in the same transaction, rolled back with it when the check fails; "
                + "SaveChanges runs in one unless AutoTransactionBehavior is Never: set it to WhenNeeded or Always, or begin a transaction.");
        }

        var statement = new EfStatement(command, this, inTransaction: transaction is not null, schemaChange, checksToken, readsToken: tokens && !isWrite);
        return schemaChange && !isWrite && HistoryTable is { } history && command.CommandText.Contains(history, StringComparison.Ordinal) && command.Parameters.Count == 0
            ? HistoryReadAsync()
            : CommandEngine.ExecuteAsync(statement, Connection, transaction, operation, behavior, text, isWrite, io, cancellationToken);

        async ValueTask<object?> HistoryReadAsync()
        {
            await MigrationHistoryCheck.ThrowIfStrandsDifferAsync(Connection, command, transaction, io, cancellationToken).ConfigureAwait(false);
            return await CommandEngine.ExecuteAsync(statement, Connection, transaction, operation, behavior, text, isWrite, io, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Gets or sets a value indicating whether the context's model has <c>xmin</c> concurrency tokens (<see cref="ServerTokens"/>): only then are commands searched for them.</summary>
    public bool HasServerTokens { get; set; }

    /// <summary>Gets or sets the name of the context's migrations history table, whose reads are compared across the strands (<see cref="MigrationHistoryCheck"/>).</summary>
    public string? HistoryTable { get; set; }

    /// <summary>Begins the Helix transaction of a transaction EF begins, in place of the session's.</summary>
    public HelixTransaction BeginTransaction(IsolationLevel isolationLevel)
    {
        EndTransaction();
        Transaction = Connection.BeginTransaction(isolationLevel);
        return Transaction;
    }

    /// <summary>
    /// EF enlists the context in an ambient transaction (a <c>TransactionScope</c>, or <c>Database.EnlistTransaction</c>):
    /// the Helix connection takes it (as it does by itself when it opens in a scope), and stops running commands on EF's
    /// connection object, which stays outside the scope (see <see cref="AmbientEnlisting"/>).
    /// </summary>
    public void Enlist(DbConnection efConnection, System.Transactions.Transaction? transaction)
    {
        if (transaction is not null)
        {
            Connection.GiveBack(efConnection);
            Connection.EnlistTransaction(transaction);
        }
    }

    /// <summary>
    /// Runs the context's commands in a Helix transaction the application began on <see cref="Connection"/>: given to
    /// <c>Database.UseTransaction</c>, which the application ends itself, or by its interceptor as EF began a transaction
    /// (<paramref name="owned"/>), which EF ends.
    /// </summary>
    public void UseTransaction(HelixTransaction given, bool owned)
    {
        EndTransaction();
        Transaction = given;
        _transactionGiven = !owned;
    }

    /// <summary>
    /// The native transaction EF holds on its connection object, in which no command runs, at <paramref name="level"/>
    /// (what EF reports for the transaction; see <see cref="HelixTransactionInterceptor"/> for the level asked of each
    /// provider): begun after the session's Helix connection stops borrowing the object (a provider runs no command on a
    /// connection beside its transaction), kept for EF's next transaction at the same level until EF closes the
    /// connection. One at another level replaces it (on Npgsql, a round trip to roll back the BEGIN it never sent: only
    /// when an application changes the level on one open connection).
    /// </summary>
    public DbTransaction ShellOn(DbConnection efConnection, IsolationLevel level)
    {
        if (ShellTransaction is not null && _shellLevel != level)
        {
            ShellTransaction.Dispose();
            ShellTransaction = null;
        }

        if (ShellTransaction is null)
        {
            Connection.GiveBack(efConnection);
            ShellTransaction = efConnection.BeginTransaction(level);
            _shellLevel = level;
        }

        return ShellTransaction;
    }

    // The level ShellTransaction was begun at.
    private IsolationLevel _shellLevel;

    /// <summary>
    /// Takes the session's Helix transaction off it (or only the given one, if it is still the session's): rolled back
    /// unless committed when EF began it, left to the application when it gave it.
    /// </summary>
    public void EndTransaction(HelixTransaction? only = null)
    {
        if (Transaction is { } transaction && (only is null || ReferenceEquals(only, transaction)))
        {
            Transaction = null;
            if (!_transactionGiven)
            {
                transaction.Dispose();
            }

            _transactionGiven = false;
        }
    }

    /// <summary>Refuses a schema change while a strand is not healthy (it would miss it, and schema changes are not replayed).</summary>
    public void ThrowIfAnyStrandIsNotHealthy()
    {
        if (Connection.DataSourceOrThrow.Strands.FirstOrDefault(s => s.State != HelixStrandState.Healthy) is { } strand)
        {
            throw new InvalidOperationException(
                $"Migrations and EnsureCreated change the schema of both strands at once, and strand {strand.Name} is {strand.State}: bring it back (or resynchronise it) first, then run them again. Nothing was changed by this command; schema changes are not replayed.");
        }
    }

    /// <summary>
    /// EF closes its connection object: the Helix transaction ends, and the native one EF kept goes with the connection.
    /// After a schema change that created or changed a type, the strands' data sources load their types again, as EF's
    /// Npgsql provider reloads its own connection's after such a migration (the change is committed or rolled back by now).
    /// </summary>
    public async ValueTask CloseAsync(IOBehavior io)
    {
        EndTransaction();
        ShellTransaction = null;
        if (_typesChanged)
        {
            _typesChanged = false;
            await ProviderTypes.ReloadAsync(Connection.DataSourceOrThrow, io).ConfigureAwait(false);
        }
    }

    // Whether a schema change of this session created, changed or dropped a type (see CloseAsync).
    private bool _typesChanged;

    public void ReaderOpened(DbDataReader reader, EfStatement statement, DbCommand inner, int strand, Action<DbDataReader>? onClosed)
    {
        Connection.ReaderOpened(strand);
        _readers.Add((reader, statement, inner, strand, onClosed));
    }

    /// <summary>EF disposed a reader it was handed: its inner command is released.</summary>
    public void ReaderDisposed(DbDataReader reader)
    {
        var index = _readers.Count - 1;
        while (index >= 0 && !ReferenceEquals(_readers[index].Reader, reader))
        {
            index--;
        }

        if (index < 0)
        {
            return;
        }

        var (_, statement, inner, strand, onClosed) = _readers[index];
        _readers.RemoveAt(index);
        Connection.ReaderClosed(strand);
        onClosed?.Invoke(reader);
        statement.Release(inner, detach: false);
    }

    /// <summary>Ends the session with EF's connection object: readers EF never disposed are released, the transaction rolled back, the strands' connections returned.</summary>
    public void Dispose()
    {
        ReleaseReaders();
        EndTransaction();
        Connection.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        ReleaseReaders();
        if (Transaction is { } transaction && !_transactionGiven)
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
        }

        Transaction = null;

        await Connection.DisposeAsync().ConfigureAwait(false);
    }

    private void ReleaseReaders()
    {
        while (_readers.Count > 0)
        {
            ReaderDisposed(_readers[^1].Reader);
        }
    }
}
