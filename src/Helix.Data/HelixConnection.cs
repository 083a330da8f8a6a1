using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Helix.Data.Internal;

namespace Helix.Data;

/// <summary>
/// A connection to two strands: a cheap, short-lived view over a <see cref="HelixDataSource"/> that holds at most one
/// pooled inner connection per strand, opened when first needed.
/// </summary>
/// <remarks>
/// Connections made with the same connection string share one data source, so they share strand health, read
/// routing and the replay queue. <see cref="Open"/> opens the strand reads go to; a write opens the other strand too.
/// Like <c>NpgsqlConnection</c>, a connection runs one command at a time: a command started while another one runs (from
/// another thread) throws an <see cref="InvalidOperationException"/>; use a connection per concurrent operation.
/// </remarks>
public sealed partial class HelixConnection : DbConnection
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

    // Set when the connection opens, as Npgsql's "Persist Security Info" does: from then on ConnectionString is the data
    // source's, with its secrets masked, unless the string says Persist Security Info=true (contract amendment 40).
    private bool _secretsHidden;

    // What keeps this connection's inner connections from being kept for reuse when it closes (see Release), besides
    // the readers still open (HelixConnection.Usage.cs).
    private bool _innerShown;

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
    /// <remarks>
    /// Once the connection has been opened (and after it closes), a string that holds passwords or other secrets is
    /// returned with them masked, as Npgsql's, MySqlConnector's and SqlClient's connections return theirs, unless it sets
    /// <c>Persist Security Info=true</c>. A connection made by a <see cref="HelixDataSource"/> returns the data source's
    /// string, masked.
    /// </remarks>
    /// <exception cref="ArgumentException">The connection string is malformed or invalid.</exception>
    /// <exception cref="InvalidOperationException">The connection is open, or was made by a data source.</exception>
    [AllowNull]
    public override string ConnectionString
    {
        get => _fromDataSource || _secretsHidden ? _dataSource!.ConnectionString : _connectionString;
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
            _secretsHidden = false;
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

        if (_enlistment?.Park(this) != true)
        {
            _transaction?.Strands.AbandonAsync(IOBehavior.Synchronous).Synchronously();
        }

        for (var i = 0; i < InnerConnections.Length; i++)
        {
            if (TakeInner(i) is { } inner)
            {
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
        if (_enlistment?.Park(this) != true && _transaction is { } transaction)
        {
            await transaction.Strands.AbandonAsync(IOBehavior.Asynchronous).ConfigureAwait(false);
        }

        for (var i = 0; i < InnerConnections.Length; i++)
        {
            if (TakeInner(i) is { } inner)
            {
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
    private bool Reusable => !_innerShown && _database is null && !HasOpenReaders;

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
        if (_enlistment is not null)
        {
            throw new InvalidOperationException("The connection is enlisted in an ambient transaction (a TransactionScope), and its commands run in it; a transaction of its own cannot begin. Complete the scope, or open the connection in a suppressed scope (TransactionScopeOption.Suppress).");
        }

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

    internal void TransactionCompleted(HelixTransaction transaction)
    {
        if (_transaction == transaction)
        {
            _transaction = null;
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
        _secretsHidden |= state == ConnectionState.Open && _dataSource!.Configuration.HidesSecretsOnceOpen;
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
