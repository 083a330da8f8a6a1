using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Helix.Data.Internal;
using Helix.Data.Internal.Execution;

namespace Helix.Data;

/// <summary>
/// A connection to two strands: a cheap, short-lived view over a <see cref="HelixDataSource"/> that holds at most one
/// pooled inner connection per strand, opened when first needed.
/// </summary>
/// <remarks>
/// Connections made with the same connection string share one data source, so they share strand health, read
/// routing and the replay queue. <see cref="Open"/> opens the strand reads go to; a write opens the other strand too.
/// </remarks>
public sealed class HelixConnection : DbConnection
{
    private static readonly StateChangeEventArgs ClosedToOpen = new(ConnectionState.Closed, ConnectionState.Open);
    private static readonly StateChangeEventArgs OpenToClosed = new(ConnectionState.Open, ConnectionState.Closed);
    private InnerConnections _inner;
    private HelixDataSource? _dataSource;
    private string _connectionString = string.Empty;
    private readonly bool _fromDataSource;
    private ConnectionState _state = ConnectionState.Closed;
    private string? _database;
    private HelixTransaction? _transaction;
    private bool _disposed;

    /// <summary>Gets or sets this connection's last reader, disposed, for its next command to reuse (never another connection's).</summary>
    internal HelixDataReader? IdleReader { get; set; }

    // What keeps this connection's inner connections from being kept for reuse when it closes (see Release).
    private bool _innerShown;
    private int _openReaders;

    /// <summary>Initializes a new instance of the <see cref="HelixConnection"/> class without a connection string.</summary>
    public HelixConnection()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="HelixConnection"/> class.</summary>
    /// <param name="connectionString">A Helix connection string; it is validated at once.</param>
    /// <exception cref="ArgumentException">The connection string is malformed or invalid; the message names the key.</exception>
    public HelixConnection(string? connectionString)
    {
        ConnectionString = connectionString;
    }

    internal HelixConnection(HelixDataSource dataSource)
    {
        _dataSource = dataSource;
        _fromDataSource = true;
    }

    /// <summary>
    /// Gets or sets the connection string. Setting it validates it and attaches the connection to the data source shared by
    /// every connection with the same string.
    /// </summary>
    /// <exception cref="ArgumentException">The connection string is malformed or invalid.</exception>
    /// <exception cref="InvalidOperationException">The connection is open, or was made by a data source.</exception>
    [AllowNull]
    public override string ConnectionString
    {
        get => _fromDataSource ? _dataSource!.ConnectionString : _connectionString;
        set
        {
            if (_state != ConnectionState.Closed)
            {
                throw new InvalidOperationException("The connection string cannot be changed while the connection is open.");
            }

            if (_fromDataSource)
            {
                throw new InvalidOperationException("This connection was made by a HelixDataSource; its connection string cannot be changed.");
            }

            var text = value ?? string.Empty;
            _dataSource = text.Length == 0 ? null : HelixDataSource.GetShared(text);
            _connectionString = text;
        }
    }

    /// <summary>Gets the data source the connection uses, or <see langword="null"/> before a connection string is set.</summary>
    public HelixDataSource? HelixDataSource => _dataSource;

    /// <inheritdoc />
    public override string Database => _database ?? AnyInner()?.Database ?? FromTemplate(c => c.Database);

    /// <summary>Gets the server of the primary strand (or of the open strand).</summary>
    public override string DataSource => AnyInner()?.DataSource ?? FromTemplate(c => c.DataSource);

    /// <summary>Gets the server version of the open strand; when closed, whatever the primary's provider says then.</summary>
    public override string ServerVersion => AnyInner()?.ServerVersion ?? FromTemplate(c => c.ServerVersion);

    /// <inheritdoc />
    public override ConnectionState State => _state;

    /// <summary>Gets the inner connection of a strand if this connection has opened it.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>The open inner connection, or <see langword="null"/>.</returns>
    /// <remarks>An inner connection handed out here is disposed when this connection closes, never reused by another.</remarks>
    public DbConnection? GetInnerConnection(HelixStrand strand)
    {
        var inner = _inner[(int)strand];
        _innerShown |= inner is not null;
        return inner;
    }

    /// <inheritdoc />
    protected override DbProviderFactory DbProviderFactory => HelixProviderFactory.Instance;

    /// <summary>Gets the transaction in progress, if any.</summary>
    internal HelixTransaction? ActiveTransaction => _transaction;

    internal HelixDataSource DataSourceOrThrow => _dataSource ?? ThrowNoConnectionString();

    /// <inheritdoc />
    public override void Open() => OpenAsync(IOBehavior.Synchronous, CancellationToken.None).Synchronously();

    /// <inheritdoc />
    public override Task OpenAsync(CancellationToken cancellationToken) => OpenAsync(IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Close()
    {
        if (_state == ConnectionState.Closed)
        {
            return;
        }

        _transaction?.AbandonAsync(IOBehavior.Synchronous).Synchronously();

        for (var i = 0; i < InnerConnections.Length; i++)
        {
            if (_inner[i] is { } inner)
            {
                _inner[i] = null;
                Release(i, inner);
            }
        }

        _innerShown = false; // what was handed out is disposed now; the next open's inner connections are new
        SetState(ConnectionState.Closed);
    }

    /// <inheritdoc />
    public override Task CloseAsync() => _state == ConnectionState.Closed ? Task.CompletedTask : CloseOpenAsync();

    private async Task CloseOpenAsync()
    {
        if (_transaction is { } transaction)
        {
            await transaction.AbandonAsync(IOBehavior.Asynchronous).ConfigureAwait(false);
        }

        for (var i = 0; i < InnerConnections.Length; i++)
        {
            if (_inner[i] is { } inner)
            {
                _inner[i] = null;
                if (Reusable)
                {
                    await inner.CloseAsync().ConfigureAwait(false);
                    _dataSource!.Strands[i].Keep(inner);
                }
                else
                {
                    await inner.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        _innerShown = false; // what was handed out is disposed now; the next open's inner connections are new
        SetState(ConnectionState.Closed);
    }

    /// <summary>
    /// Gets whether this connection's inner connections can be kept for other Helix connections to open again: nobody
    /// outside Helix was given one (<see cref="GetInnerConnection"/>), none was moved to another database (a provider may
    /// keep that in the connection object), and no reader of this connection is still open (its inner command, which a
    /// later <see cref="DbCommand.Cancel"/> would reach, still points at the inner connection).
    /// </summary>
    private bool Reusable => !_innerShown && _database is null && _openReaders == 0;

    private void Release(int index, DbConnection inner)
    {
        if (Reusable)
        {
            inner.Close();
            _dataSource!.Strands[index].Keep(inner);
        }
        else
        {
            inner.Dispose();
        }
    }

    /// <summary>A reader of a command on this connection was returned to the caller.</summary>
    internal void ReaderOpened() => _openReaders++;

    /// <summary>A reader that <see cref="ReaderOpened"/> counted was closed.</summary>
    internal void ReaderClosed() => _openReaders--;

    /// <inheritdoc />
    /// <remarks>Not an async method: a connection that is closed already (Dapper closes it) disposes without a state machine.</remarks>
    public override ValueTask DisposeAsync()
    {
        var closing = CloseAsync();
        if (!closing.IsCompletedSuccessfully)
        {
            return DisposeAfterAsync(closing);
        }

        _disposed = true;
        return base.DisposeAsync();
    }

    private async ValueTask DisposeAfterAsync(Task closing)
    {
        await closing.ConfigureAwait(false);
        _disposed = true;
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Changes the database of every open strand, and of strands opened later by this connection.</summary>
    /// <param name="databaseName">The database.</param>
    public override void ChangeDatabase(string databaseName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseName);
        ThrowIfNotOpen(nameof(ChangeDatabase));
        foreach (var inner in _inner)
        {
            inner?.ChangeDatabase(databaseName);
        }

        _database = databaseName;
    }

    /// <summary>Starts a transaction on the strands (see <see cref="HelixTransaction"/>).</summary>
    /// <returns>The transaction.</returns>
    public new HelixTransaction BeginTransaction() => BeginTransaction(IsolationLevel.Unspecified);

    /// <summary>Starts a transaction with an isolation level, used on every strand it runs on.</summary>
    /// <param name="isolationLevel">The isolation level; <see cref="IsolationLevel.Unspecified"/> leaves each provider's default.</param>
    /// <returns>The transaction.</returns>
    public new HelixTransaction BeginTransaction(IsolationLevel isolationLevel)
    {
        ThrowIfNotOpen(nameof(BeginTransaction));
        if (_transaction is not null)
        {
            throw new InvalidOperationException("A transaction is already in progress on this connection; nested transactions are not supported (use savepoints).");
        }

        _transaction = new HelixTransaction(this, DataSourceOrThrow, isolationLevel);
        return _transaction;
    }

    /// <inheritdoc />
    protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => BeginTransaction(isolationLevel);

    /// <inheritdoc />
    protected override ValueTask<DbTransaction> BeginDbTransactionAsync(IsolationLevel isolationLevel, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new(BeginTransaction(isolationLevel)); // inner transactions start when a command first touches a strand
    }

    /// <summary>Not supported: System.Transactions cannot span two independent strands.</summary>
    /// <param name="transaction">The transaction.</param>
    /// <exception cref="NotSupportedException">Whenever <paramref name="transaction"/> is not <see langword="null"/>.</exception>
    public override void EnlistTransaction(System.Transactions.Transaction? transaction)
    {
        if (transaction is not null)
        {
            throw new NotSupportedException("Helix.Data connections cannot enlist in System.Transactions transactions: the two strands are independent databases.");
        }
    }

    /// <summary>Returns schema information from the strand reads go to (see <see cref="DbConnection.GetSchema(string, string[])"/>).</summary>
    /// <returns>The metadata collections.</returns>
    public override DataTable GetSchema() => SchemaConnection(nameof(GetSchema)).GetSchema();

    /// <inheritdoc cref="DbConnection.GetSchema(string)" />
    public override DataTable GetSchema(string collectionName) => SchemaConnection(nameof(GetSchema)).GetSchema(collectionName);

    /// <inheritdoc cref="DbConnection.GetSchema(string, string[])" />
    public override DataTable GetSchema(string collectionName, string?[] restrictionValues) => SchemaConnection(nameof(GetSchema)).GetSchema(collectionName, restrictionValues);

    /// <inheritdoc />
    public override Task<DataTable> GetSchemaAsync(CancellationToken cancellationToken = default) =>
        SchemaConnection(nameof(GetSchemaAsync)).GetSchemaAsync(cancellationToken);

    /// <inheritdoc />
    public override Task<DataTable> GetSchemaAsync(string collectionName, CancellationToken cancellationToken = default) =>
        SchemaConnection(nameof(GetSchemaAsync)).GetSchemaAsync(collectionName, cancellationToken);

    /// <inheritdoc />
    public override Task<DataTable> GetSchemaAsync(string collectionName, string?[] restrictionValues, CancellationToken cancellationToken = default) =>
        SchemaConnection(nameof(GetSchemaAsync)).GetSchemaAsync(collectionName, restrictionValues, cancellationToken);

    /// <summary>Gets a value indicating whether the connection can make a <see cref="HelixBatch"/>: every strand's provider batches.</summary>
    public override bool CanCreateBatch => DataSourceOrThrow.Strands.All(s => s.CanCreateBatch);

    /// <summary>Creates a batch of commands, executed as one write (or one read) on the strands.</summary>
    /// <returns>The batch.</returns>
    /// <exception cref="NotSupportedException">A strand's provider does not batch.</exception>
    public new HelixBatch CreateBatch() => CanCreateBatch
        ? new HelixBatch { Connection = this }
        : throw new NotSupportedException($"A strand's provider ({string.Join(", ", DataSourceOrThrow.Strands.Where(s => !s.CanCreateBatch).Select(s => s.ProviderName))}) does not support DbBatch.");

    /// <inheritdoc />
    protected override DbBatch CreateDbBatch() => CreateBatch();

    /// <summary>Creates a command on this connection.</summary>
    /// <returns>The command.</returns>
    public new HelixCommand CreateCommand() => new() { Connection = this, CreatedIn = _transaction };

    /// <inheritdoc />
    protected override DbCommand CreateDbCommand() => CreateCommand();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Close();
            _disposed = true;
        }

        base.Dispose(disposing);
    }

    /// <summary>Returns the open inner connection of a strand, opening it first if needed.</summary>
    /// <remarks>Not an async method: an open strand, or a synchronous open, costs no state machine.</remarks>
    internal ValueTask<DbConnection> GetInnerAsync(Strand strand, IOBehavior io, CancellationToken cancellationToken) =>
        _inner[strand.Index] is { } open ? new(open) : OpenNewInnerAsync(strand, io, cancellationToken);

    /// <summary>Opens a strand's inner connection (out of line: its error handling stays out of every command that finds one open).</summary>
    private ValueTask<DbConnection> OpenNewInnerAsync(Strand strand, IOBehavior io, CancellationToken cancellationToken)
    {
        try
        {
            return io == IOBehavior.Asynchronous ? OpenInnerAsync(strand, cancellationToken) : new(OpenInner(strand));
        }
        catch (Exception e)
        {
            return ValueTask.FromException<DbConnection>(e);
        }
    }

    /// <summary>Returns the open inner connection of a strand, opening it first (synchronously) if needed.</summary>
    internal DbConnection GetInner(Strand strand) => _inner[strand.Index] ?? OpenInner(strand);

    private DbConnection OpenInner(Strand strand)
    {
        var connection = strand.CreateConnection();
        try
        {
            connection.Open();
            if (_database is not null)
            {
                connection.ChangeDatabase(_database);
            }
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        _inner[strand.Index] = connection;
        return connection;
    }

    /// <remarks>Not an async method: an open that completes at once (a pooled connection) needs no state machine.</remarks>
    private ValueTask<DbConnection> OpenInnerAsync(Strand strand, CancellationToken cancellationToken)
    {
        var connection = strand.CreateConnection();
        Task opening;
        try
        {
            opening = connection.OpenAsync(cancellationToken);
        }
        catch (Exception e)
        {
            opening = Task.FromException(e);
        }

        if (!opening.IsCompletedSuccessfully || _database is not null)
        {
            return OpenInnerSlowAsync(strand, connection, opening);
        }

        _inner[strand.Index] = connection;
        return new(connection);
    }

    /// <summary>The rest of <see cref="OpenInnerAsync"/>: waits for the open, changes the database, disposes the connection on failure.</summary>
    private async ValueTask<DbConnection> OpenInnerSlowAsync(Strand strand, DbConnection connection, Task opening)
    {
        try
        {
            await opening.ConfigureAwait(false);
            if (_database is not null)
            {
                connection.ChangeDatabase(_database);
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _inner[strand.Index] = connection;
        return connection;
    }

    internal void TransactionCompleted(HelixTransaction transaction)
    {
        if (_transaction == transaction)
        {
            _transaction = null;
        }
    }

    /// <summary>Drops a strand's inner connection after a strand fault; a later command opens a fresh one.</summary>
    internal void Discard(Strand strand)
    {
        var inner = _inner[strand.Index];
        _inner[strand.Index] = null;
        try
        {
            inner?.Dispose();
        }
#pragma warning disable CA1031 // disposing a broken connection may fail; the fault is already being handled
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    internal void ThrowIfNotOpen(string operation)
    {
        if (_state != ConnectionState.Open)
        {
            ThrowNotOpen(operation);
        }
    }

    /// <summary>The check of a command's execution: the name of its method is looked up only when it throws.</summary>
    internal void ThrowIfNotOpen(Operation operation)
    {
        if (_state != ConnectionState.Open)
        {
            ThrowNotOpen(operation.MethodName());
        }
    }

    // The throws of the checks every command makes live out of line, so that the checks themselves are inlined.
    [DoesNotReturn]
    private static HelixDataSource ThrowNoConnectionString() => throw new InvalidOperationException("The ConnectionString property has not been initialized.");

    [DoesNotReturn]
    private void ThrowNotOpen(string operation) => throw new InvalidOperationException($"{operation} requires an open connection; the connection's current state is {_state}.");

    /// <remarks>
    /// Not an async method: when the strand reads go to opens at once (a pooled connection, or any synchronous open), the
    /// connection opens without a state machine; <see cref="OpenSlowAsync"/> takes the rest.
    /// </remarks>
    private ValueTask OpenAsync(IOBehavior io, CancellationToken cancellationToken)
    {
        try
        {
            var dataSource = DataSourceOrThrow;
            if (_state == ConnectionState.Open || _disposed)
            {
                return OpenSlowAsync(dataSource, null, null, io, cancellationToken);
            }

            dataSource.ThrowIfDisposed();

            // A token cancelled already goes to the provider with the open: what it does with it (SQLite cancels; Npgsql
            // opens from its pool when it can, else cancels) is what the caller gets, as without Helix.
            var first = FirstToOpen(dataSource);
            var opening = GetInnerAsync(first, io, cancellationToken);
            if (!opening.IsCompletedSuccessfully)
            {
                return OpenSlowAsync(dataSource, first, opening, io, cancellationToken);
            }

            _ = opening.Result;
            SetState(ConnectionState.Open);
            return default;
        }
        catch (Exception e)
        {
            return CallerCancellation.Is(e, cancellationToken)
                ? ValueTask.FromCanceled(cancellationToken) // the caller's cancellation: a canceled task, as providers give
                : ValueTask.FromException(e);
        }
    }

    /// <summary>
    /// Opens the connection the long way: again on an open or disposed connection, after waiting for the first strand's
    /// open (<paramref name="opening"/>), or on the other strand when the first could not be opened.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its state machine, a large struct, stays out of the frame of OpenAsync
    private async ValueTask OpenSlowAsync(HelixDataSource dataSource, Strand? first, ValueTask<DbConnection>? opening, IOBehavior io, CancellationToken cancellationToken)
    {
        if (_state == ConnectionState.Open)
        {
            // Open on an open connection does what the inner provider does (SQLite: nothing; Npgsql: throws).
            var open = AnyInner() ?? throw new InvalidOperationException("The connection is already open.");
            if (io == IOBehavior.Synchronous)
            {
                open.Open();
            }
            else
            {
                await open.OpenAsync(cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (first is null)
        {
            dataSource.ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();

            // Opening a disposed connection does what the primary's provider does (Npgsql throws, SQLite reopens).
            using (var probe = dataSource.Strands[0].DataSource.CreateConnection())
            {
                probe.Dispose();
                probe.Open();
            }

            first = FirstToOpen(dataSource);
        }

        if (dataSource.IsSingleStrand)
        {
            await OpeningOf(first, opening, io, cancellationToken).ConfigureAwait(false);
            SetState(ConnectionState.Open);
            return;
        }

        var firstError = await TryOpenAsync(dataSource, first, opening, io, cancellationToken).ConfigureAwait(false);
        if (firstError is not null)
        {
            var second = dataSource.Reads!.Other(first)!;
            var secondError = await TryOpenAsync(dataSource, second, null, io, cancellationToken).ConfigureAwait(false);
            if (secondError is not null)
            {
                var primaryError = first.Id == HelixStrand.Primary ? firstError : secondError;
                var secondaryError = first.Id == HelixStrand.Primary ? secondError : firstError;
                throw new HelixException(
                    $"Neither strand could be opened. {dataSource.Strands[0].Name}: {primaryError.Message} {dataSource.Strands[1].Name}: {secondaryError.Message}",
                    primaryError,
                    secondaryError,
                    isTransient: true);
            }
        }

        SetState(ConnectionState.Open);
    }

    /// <summary>The strand a connection opens first: the one reads go to, so that a connection used only for reads opens one.</summary>
    private static Strand FirstToOpen(HelixDataSource dataSource) =>
        dataSource.IsSingleStrand ? dataSource.Strands[0] : dataSource.Reads!.Peek() ?? dataSource.Reads.LastResort(null);

    /// <summary>The open of a strand already under way, or a new one.</summary>
    private ValueTask<DbConnection> OpeningOf(Strand strand, ValueTask<DbConnection>? opening, IOBehavior io, CancellationToken cancellationToken) =>
        opening is { } pending ? pending : GetInnerAsync(strand, io, cancellationToken);

    /// <summary>Opens a strand (or finishes <paramref name="opening"/> it); returns the strand fault that kept it closed.</summary>
    private async ValueTask<Exception?> TryOpenAsync(HelixDataSource dataSource, Strand strand, ValueTask<DbConnection>? opening, IOBehavior io, CancellationToken cancellationToken)
    {
        try
        {
            await OpeningOf(strand, opening, io, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException e) when (CallerCancellation.Is(e, cancellationToken))
        {
            throw;
        }
        catch (Exception e)
        {
            if (dataSource.Classifier.Classify(e) == HelixErrorKind.StatementError)
            {
                ExceptionDispatchInfo.Capture(e).Throw(); // a client-side refusal (bad option): every strand would refuse
            }

            dataSource.Reads!.OpenFaulted(strand, e);
            return e;
        }
    }

    private DbConnection? AnyInner() => _inner[0] ?? _inner[1];

    private DbConnection SchemaConnection(string operation)
    {
        ThrowIfNotOpen(operation);
        return AnyInner() ?? throw new InvalidOperationException("No strand is open on this connection.");
    }

    private string FromTemplate(Func<DbConnection, string> read)
    {
        if (_dataSource is null)
        {
            return string.Empty;
        }

        using var template = _dataSource.Strands[0].DataSource.CreateConnection();
        return read(template);
    }

    private void SetState(ConnectionState state)
    {
        var previous = _state;
        _state = state;
        if (previous != state)
        {
            // The arguments are immutable: the two common transitions share one instance each, as Npgsql's do.
            OnStateChange((previous, state) switch
            {
                (ConnectionState.Closed, ConnectionState.Open) => ClosedToOpen,
                (ConnectionState.Open, ConnectionState.Closed) => OpenToClosed,
                _ => new StateChangeEventArgs(previous, state),
            });
        }
    }

    /// <summary>At most one inner connection per strand, held in the connection object itself (no array per connection).</summary>
    [System.Runtime.CompilerServices.InlineArray(Length)]
    private struct InnerConnections
    {
        public const int Length = 2;

        private DbConnection? _first;
    }
}
