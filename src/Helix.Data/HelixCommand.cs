using System.ComponentModel;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Helix.Data.Internal;
using Helix.Data.Internal.Execution;
using Helix.Data.Replay;

namespace Helix.Data;

/// <summary>
/// A command executed on the strands of a <see cref="HelixConnection"/>: a read goes to one strand, a write to every
/// strand (strands that cannot take it now get it through replay).
/// </summary>
/// <remarks>
/// Whether a command is a read or a write comes from <see cref="Intent"/>; with <see cref="HelixCommandIntent.Auto"/>,
/// <see cref="ExecuteNonQuery"/> is a write and <see cref="DbCommand.ExecuteReader()"/> and <see cref="ExecuteScalar"/>
/// are reads only when every statement is a plain query. A leading <c>/* helix:write */</c> or <c>/* helix:read */</c>
/// comment overrides that for its statement, which lets Dapper call sites decide without touching command objects.
/// </remarks>
public sealed partial class HelixCommand : DbCommand
{
    private readonly HelixParameterCollection _parameters = new();
    private HelixConnection? _connection;
    private string _commandText = string.Empty;
    private int? _commandTimeout;
    private CommandType _commandType = CommandType.Text;
    private bool _prepared;
    private HelixTransaction? _transaction;
    private readonly HelixBatch? _batch;

    /// <summary>Initializes a new instance of the <see cref="HelixCommand"/> class.</summary>
    public HelixCommand()
    {
    }

    /// <summary>A command that carries a batch through the command pipeline.</summary>
    internal HelixCommand(HelixBatch batch)
    {
        _batch = batch;
    }

    /// <summary>Initializes a new instance of the <see cref="HelixCommand"/> class with a text and a connection.</summary>
    /// <param name="commandText">The SQL text.</param>
    /// <param name="connection">The connection.</param>
    public HelixCommand(string? commandText, HelixConnection? connection = null)
    {
        CommandText = commandText;
        _connection = connection;
    }

    /// <summary>
    /// Initializes a new instance of the <see cref="HelixCommand"/> class with a text, a connection and the transaction
    /// to run in, as <c>NpgsqlCommand</c>, <c>MySqlCommand</c> and <c>SqlCommand</c> take them.
    /// </summary>
    /// <param name="commandText">The SQL text.</param>
    /// <param name="connection">The connection.</param>
    /// <param name="transaction">The transaction; it must be the active transaction of <paramref name="connection"/> when the command runs.</param>
    public HelixCommand(string? commandText, HelixConnection? connection, HelixTransaction? transaction)
        : this(commandText, connection)
    {
        Transaction = transaction;
    }

    /// <inheritdoc />
    [AllowNull]
    public override string CommandText
    {
        get => _commandText;
        set
        {
            ThrowIfReaderOpen(nameof(CommandText));
            _commandText = value ?? string.Empty;
            _prepared = false; // as with the inner providers, new text is no longer prepared
        }
    }

    /// <summary>
    /// Gets or sets the priority of the replay entry this command's write gets when a strand misses it. A strand coming
    /// back gets high-priority entries first (by default ten batches of them for one low batch, <c>Replay Priority
    /// Ratio</c>): mark bulk or background writes <see cref="HelixReplayPriority.Low"/> so that they do not delay the
    /// writes users wait to see. Dapper code writes <c>/* helix:priority=low */</c> in the statement instead.
    /// </summary>
    /// <value>The default value is <see cref="HelixReplayPriority.High"/>.</value>
    /// <remarks>
    /// A low-priority entry may be applied to the strand after high-priority entries recorded later: give it only to a
    /// write whose order against the others does not matter (an insert of its own rows, a <c>helix_ts</c> upsert).
    /// </remarks>
    public HelixReplayPriority ReplayPriority { get; set; }

    /// <summary>
    /// Gets or sets the time in seconds to wait for each strand, and for a strand to become writable; 0 waits forever.
    /// Until it is set, each inner command keeps its provider's default (for example SQLite's <c>Default Timeout</c>).
    /// </summary>
    /// <value>The default is the primary strand's provider's default (30 seconds for most providers).</value>
    public override int CommandTimeout
    {
        get => _commandTimeout ?? _connection?.HelixDataSource?.Strands[0].CommandDefaults.CommandTimeout ?? HelixDefaults.CommandTimeoutSeconds;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _commandTimeout = value;
        }
    }

    /// <inheritdoc />
    public override CommandType CommandType
    {
        get => _commandType;
        set => _commandType = value is CommandType.Text or CommandType.StoredProcedure or CommandType.TableDirect // not Enum.IsDefined: Dapper sets this on every query
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown command type.");
    }

    /// <summary>Gets or sets whether the command is a read or a write; see <see cref="HelixCommandIntent"/>.</summary>
    /// <value>The default value is <see cref="HelixCommandIntent.Auto"/>.</value>
    [DefaultValue(HelixCommandIntent.Auto)]
    public HelixCommandIntent Intent { get; set; }

    /// <inheritdoc />
    public override bool DesignTimeVisible { get; set; }

    /// <summary>Gets or sets how results update a data row; the default is the primary strand's provider's.</summary>
    public override UpdateRowSource UpdatedRowSource
    {
        get => _updatedRowSource ?? _connection?.HelixDataSource?.Strands[0].CommandDefaults.UpdatedRowSource ?? UpdateRowSource.Both;
        set => _updatedRowSource = value;
    }

    private UpdateRowSource? _updatedRowSource;

    /// <summary>Gets or sets the connection the command runs on.</summary>
    public new HelixConnection? Connection
    {
        get => _connection;
        set
        {
            if (value != _connection)
            {
                ThrowIfReaderOpen(nameof(Connection));
            }

            _connection = value;
            CreatedIn = null;
        }
    }

    /// <summary>As Npgsql's and SQLite's commands do, refuses to change what a reader still open was made from.</summary>
    private void ThrowIfReaderOpen(string property)
    {
        if (_readerCommand is not null)
        {
            throw new InvalidOperationException($"An open reader is associated with this command; close it before changing the {property} property.");
        }
    }

    /// <summary>
    /// Gets or sets the transaction that was open on the connection when the connection created this command, until the
    /// command's own transaction or connection is set: a provider whose new commands join the open transaction (SQLite)
    /// runs such a command in it.
    /// </summary>
    internal HelixTransaction? CreatedIn { get; set; }

    /// <summary>Gets the parameters of the command.</summary>
    public new HelixParameterCollection Parameters => _parameters;

    /// <inheritdoc />
    protected override DbConnection? DbConnection
    {
        get => _connection;
        set => Connection = value switch
        {
            null => null,
            HelixConnection helix => helix,
            _ => throw new ArgumentException($"A HelixCommand runs on a HelixConnection, not on a {value.GetType().Name}.", nameof(value)),
        };
    }

    /// <inheritdoc />
    protected override DbParameterCollection DbParameterCollection => _parameters;

    /// <summary>Gets or sets the transaction the command runs in; it must be the active transaction of the command's connection.</summary>
    public new HelixTransaction? Transaction
    {
        get => _transaction;
        set
        {
            _transaction = value;
            CreatedIn = null;
        }
    }

    /// <inheritdoc />
    protected override DbTransaction? DbTransaction
    {
        get => _transaction;
        set => Transaction = value switch
        {
            null => null,
            HelixTransaction helix => helix,
            _ => throw new ArgumentException($"A HelixCommand runs in a HelixTransaction, not in a {value.GetType().Name}.", nameof(value)),
        };
    }

    /// <summary>
    /// Creates a parameter of the primary strand's provider (for example an <c>NpgsqlParameter</c>), so that provider
    /// settings such as <c>NpgsqlDbType</c> work; a <see cref="HelixParameter"/> when the command has no connection yet.
    /// </summary>
    /// <returns>A new parameter, not yet added to <see cref="Parameters"/>.</returns>
    public new DbParameter CreateParameter() => CreateDbParameter();

    /// <inheritdoc />
    protected override DbParameter CreateDbParameter() =>
        (NeutralParameters ? null : _connection?.HelixDataSource?.Strands[0].Factory.CreateParameter()) ?? new HelixParameter();

    /// <summary>Gets or sets a value indicating whether <see cref="CreateParameter"/> hands out <see cref="HelixParameter"/>s (for generated commands).</summary>
    internal bool NeutralParameters { get; set; }

    /// <inheritdoc />
    public override void Cancel()
    {
        foreach (var inner in ActiveInnerCommands())
        {
            try
            {
                inner.Cancel();
            }
#pragma warning disable CA1031 // Cancel is best effort by contract
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    /// <summary>
    /// Marks the command as prepared: from now on each strand's inner command is prepared (on its pooled physical
    /// connection, where the provider keeps it) before it runs, so repeated executions reuse the server-side plan.
    /// </summary>
    public override void Prepare()
    {
        var connection = _connection ?? throw new InvalidOperationException("Prepare: the Connection property has not been initialized.");
        connection.ThrowIfNotOpen(nameof(Prepare));
        _prepared = true;
    }

    /// <inheritdoc cref="Prepare" />
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A completed task.</returns>
    public override Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Prepare();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override int ExecuteNonQuery() =>
        (int)ExecuteAsync(Operation.NonQuery, CommandBehavior.Default, IOBehavior.Synchronous, CancellationToken.None).Synchronously()!;

    /// <inheritdoc />
    public override async Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken) =>
        (int)(await ExecuteAsync(Operation.NonQuery, CommandBehavior.Default, IOBehavior.Asynchronous, cancellationToken).ConfigureAwait(false))!;

    /// <inheritdoc />
    public override object? ExecuteScalar() =>
        ExecuteAsync(Operation.Scalar, CommandBehavior.Default, IOBehavior.Synchronous, CancellationToken.None).Synchronously();

    /// <inheritdoc />
    public override Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken) =>
        ExecuteAsync(Operation.Scalar, CommandBehavior.Default, IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <summary>Executes the command and returns a reader over the answering strand's results.</summary>
    /// <param name="behavior">The behavior of the reader.</param>
    /// <returns>The reader.</returns>
    public new HelixDataReader ExecuteReader(CommandBehavior behavior = CommandBehavior.Default) =>
        (HelixDataReader)ExecuteAsync(Operation.Reader, behavior, IOBehavior.Synchronous, CancellationToken.None).Synchronously()!;

    /// <summary>Executes the command and returns a reader over the answering strand's results.</summary>
    /// <param name="behavior">The behavior of the reader.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>The reader.</returns>
    public new async Task<HelixDataReader> ExecuteReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken = default) =>
        (HelixDataReader)(await ExecuteAsync(Operation.Reader, behavior, IOBehavior.Asynchronous, cancellationToken).ConfigureAwait(false))!;

    // The path ADO.NET callers (Dapper) take: when the strand answered at once, the reader's own completed task, no new one.
    private Task<DbDataReader> ExecuteReaderCoreAsync(CommandBehavior behavior, CancellationToken cancellationToken)
    {
        var executing = ExecuteAsync(Operation.Reader, behavior, IOBehavior.Asynchronous, cancellationToken);
        return executing.IsCompletedSuccessfully ? ((HelixDataReader)executing.Result!).AsCompletedTask : AwaitReaderAsync(executing);

        static async Task<DbDataReader> AwaitReaderAsync(ValueTask<object?> executing) => (HelixDataReader)(await executing.ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => ExecuteReader(behavior);

    /// <inheritdoc />
    protected override Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken) =>
        ExecuteReaderCoreAsync(behavior, cancellationToken);
}
