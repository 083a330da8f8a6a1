using System.Data;
using System.Data.Common;
using Helix.Data.Internal;

namespace Helix.Data;

/// <summary>
/// A batch of commands sent to each strand in one round trip (where the strands' providers batch). For
/// classification and replay the batch is one unit: a write when any of its commands writes, replayed as one atomic
/// entry.
/// </summary>
public sealed class HelixBatch : DbBatch
{
    private readonly HelixBatchCommandCollection _commands = new();
    private readonly HelixCommand _carrier;

    /// <summary>Initializes a new instance of the <see cref="HelixBatch"/> class.</summary>
    public HelixBatch()
    {
        _carrier = new HelixCommand(this);
    }

    /// <summary>Gets the commands of the batch.</summary>
    public new HelixBatchCommandCollection BatchCommands => _commands;

    /// <summary>Gets or sets the connection the batch runs on.</summary>
    public new HelixConnection? Connection
    {
        get => _carrier.Connection;
        set => _carrier.Connection = value;
    }

    /// <summary>Gets or sets the transaction the batch runs in.</summary>
    public new HelixTransaction? Transaction
    {
        get => _carrier.Transaction;
        set => _carrier.Transaction = value;
    }

    /// <summary>Gets or sets whether the batch is a read or a write; see <see cref="HelixCommandIntent"/>.</summary>
    public HelixCommandIntent Intent
    {
        get => _carrier.Intent;
        set => _carrier.Intent = value;
    }

    /// <inheritdoc />
    public override int Timeout
    {
        get => _carrier.CommandTimeout;
        set => _carrier.CommandTimeout = value;
    }

    /// <inheritdoc />
    protected override DbBatchCommandCollection DbBatchCommands => _commands;

    /// <inheritdoc />
    protected override DbConnection? DbConnection
    {
        get => _carrier.Connection;
        set => ((DbCommand)_carrier).Connection = value;
    }

    /// <inheritdoc />
    protected override DbTransaction? DbTransaction
    {
        get => _carrier.Transaction;
        set => ((DbCommand)_carrier).Transaction = value;
    }

    internal IReadOnlyList<HelixBatchCommand> Commands => _commands.Items;

    /// <inheritdoc />
    public override int ExecuteNonQuery() => _carrier.ExecuteNonQuery();

    /// <inheritdoc />
    public override Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken = default) => _carrier.ExecuteNonQueryAsync(cancellationToken);

    /// <inheritdoc />
    public override object? ExecuteScalar() => _carrier.ExecuteScalar();

    /// <inheritdoc />
    public override Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken = default) => _carrier.ExecuteScalarAsync(cancellationToken);

    /// <summary>Executes the batch and returns a reader over the answering strand's result sets, one per command that returns rows.</summary>
    /// <param name="behavior">The behavior of the reader.</param>
    /// <returns>The reader.</returns>
    public new HelixDataReader ExecuteReader(CommandBehavior behavior = CommandBehavior.Default) => _carrier.ExecuteReader(behavior);

    /// <inheritdoc />
    public override void Prepare() => _carrier.Prepare();

    /// <inheritdoc />
    public override Task PrepareAsync(CancellationToken cancellationToken = default) => _carrier.PrepareAsync(cancellationToken);

    /// <inheritdoc />
    public override void Cancel() => _carrier.Cancel();

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        _carrier.Dispose();
        return base.DisposeAsync();
    }

    /// <inheritdoc />
    protected override DbBatchCommand CreateDbBatchCommand() => new HelixBatchCommand();

    /// <inheritdoc />
    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => _carrier.ExecuteReader(behavior);

    /// <inheritdoc />
    protected override async Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken) =>
        await _carrier.ExecuteReaderAsync(behavior, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public override void Dispose()
    {
        _carrier.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Whether any command writes (or might), changes the session or makes a call each strand evaluates for itself, read
    /// from each command's text once; no single timestamp parameter: each command binds its own.
    /// </summary>
    internal SqlTextInfo Analyze()
    {
        var (isWrite, changesSession, call, setsLocal) = (false, false, (string?)null, false);
        foreach (var command in Commands)
        {
            var text = command.CommandType == CommandType.Text
                ? SqlClassifier.Analyze(command.CommandText)
                : new(SqlClassifier.IsWrite(command.CommandType, command.CommandText), null);
            (isWrite, changesSession, call, setsLocal) = (isWrite || text.IsWrite, changesSession || text.ChangesSession, call ?? text.NondeterministicCall, setsLocal || text.SetsTransactionLocal);
        }

        return new(isWrite, TimestampParameter: null, changesSession, call, SetsTransactionLocal: setsLocal);
    }

    /// <summary>Builds the strand's own batch: its provider's commands, with copies of the parameters (or the caller's own).</summary>
    internal BatchAsCommand CreateInner(DbConnection connection, Strand strand, bool useOriginals, long timestamp, int? timeout, out bool detach)
    {
        if (Commands.Count == 0)
        {
            throw new InvalidOperationException("The batch has no commands.");
        }

        var inner = connection.CreateBatch();
        detach = false;
        foreach (var command in Commands)
        {
            var innerCommand = inner.CreateBatchCommand();
            innerCommand.CommandText = command.CommandText;
            innerCommand.CommandType = command.CommandType;
            foreach (var parameter in command.Parameters.Items)
            {
                if (useOriginals && ParameterCopier.IsNative(parameter, strand.Factory))
                {
                    innerCommand.Parameters.Add(parameter);
                    detach = true;
                }
                else
                {
                    innerCommand.Parameters.Add(ParameterCopier.CopyFor(parameter, strand.Factory, ownValue: false));
                }
            }

            if (TimestampTemplate(command, timestamp) is { } stamp)
            {
                innerCommand.Parameters.Add(ParameterCopier.CopyFor(stamp, strand.Factory, ownValue: false));
            }

            inner.BatchCommands.Add(innerCommand);
        }

        if (timeout is { } seconds)
        {
            inner.Timeout = seconds;
        }

        return new BatchAsCommand(inner, connection);
    }

    /// <summary>Captures the batch's commands for replay.</summary>
    internal IEnumerable<RecordedStatement> Record(long timestamp, int? timeout, IEnumerable<Strand> strands, int strandCount) =>
        [.. Commands.Select(c => RecordedStatement.Capture(c.CommandText, c.CommandType, timeout, c.Parameters.Items, TimestampTemplate(c, timestamp), strands, strandCount))];

    /// <summary>Copies the rows each command affected on the strand whose result the caller gets.</summary>
    internal void SetRecordsAffected(int[]? counts)
    {
        for (var i = 0; counts is not null && i < counts.Length && i < Commands.Count; i++)
        {
            Commands[i].RecordsAffectedValue = counts[i];
        }
    }

    private static HelixParameter? TimestampTemplate(HelixBatchCommand command, long timestamp) =>
        command.CommandType == CommandType.Text && SqlClassifier.Analyze(command.CommandText).TimestampParameter is { } name && command.Parameters.IndexOf(name) < 0
            ? new HelixParameter(name, timestamp)
            : null;
}
