using System.Collections;
using System.Collections.ObjectModel;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Helix.Data.Internal.Execution;

namespace Helix.Data;

/// <summary>
/// A thin reader over the reader of the strand that served a command. Everything passes through to the inner
/// reader, provider-specific getters included; <see cref="Strand"/> says which strand answered.
/// </summary>
public sealed class HelixDataReader : DbDataReader, IDbColumnSchemaGenerator
{
    private readonly HelixConnection _connection;
    private DbDataReader _inner;
    private HelixCommand _command;
    private CommandBehavior _behavior;
    private Action<DbDataReader>? _onClose;
    private bool _closed;
    private bool _pooled;
    private Task<DbDataReader>? _asTask;
    private ReturnedRows? _recorded;

    private HelixDataReader(DbDataReader inner, HelixCommand command, HelixConnection connection, HelixStrand strand, CommandBehavior behavior, Action<DbDataReader>? onClose)
    {
        _inner = inner;
        _command = command;
        _connection = connection;
        Strand = strand;
        _behavior = behavior;
        _onClose = onClose;
    }

    /// <summary>
    /// A reader over <paramref name="inner"/>: the one this connection's last reader was, once disposed (as Npgsql reuses
    /// its readers, a reader must not be used once disposed), else a new one. A reader is reused only by the connection it
    /// was made for: one kept past its disposal can never show another connection's rows.
    /// </summary>
    internal static HelixDataReader Create(DbDataReader inner, HelixCommand command, HelixConnection connection, HelixStrand strand, CommandBehavior behavior, Action<DbDataReader>? onClose)
    {
        if (connection.IdleReader is not { } reader)
        {
            return new HelixDataReader(inner, command, connection, strand, behavior, onClose);
        }

        connection.IdleReader = null;
        (reader._inner, reader._command, reader.Strand, reader._behavior, reader._onClose) = (inner, command, strand, behavior, onClose);
        (reader._closed, reader._pooled, reader._recorded) = (false, false, null);
        return reader;
    }

    /// <summary>Gets this reader as a completed task (one per reader object, reused along with it).</summary>
    internal Task<DbDataReader> AsCompletedTask => _asTask ??= Task.FromResult<DbDataReader>(this);

    /// <summary>Gets the strand whose reader this is.</summary>
    public HelixStrand Strand { get; private set; }

    /// <summary>Gets the inner provider's reader, for provider-specific members that <see cref="DbDataReader"/> does not expose.</summary>
    public DbDataReader InnerReader => _inner;

    /// <inheritdoc />
    public override int Depth => _inner.Depth;

    /// <inheritdoc />
    public override int FieldCount => _inner.FieldCount;

    /// <inheritdoc />
    public override bool HasRows => _inner.HasRows;

    /// <inheritdoc />
    public override bool IsClosed => _closed || _inner.IsClosed;

    /// <inheritdoc />
    public override int RecordsAffected => _inner.RecordsAffected;

    /// <inheritdoc />
    public override int VisibleFieldCount => _inner.VisibleFieldCount;

    /// <inheritdoc />
    public override object this[int ordinal] => _inner[ordinal];

    /// <inheritdoc />
    public override object this[string name] => _inner[name];

    /// <summary>Gets the first rows the caller read, when the reader is a write's whose rows are compared across the strands; else <see langword="null"/>.</summary>
    internal ReturnedRows? RecordedRows => _recorded;

    /// <inheritdoc />
    public override bool Read() => _recorded is null ? _inner.Read() : Record(_inner.Read());

    /// <inheritdoc />
    public override Task<bool> ReadAsync(CancellationToken cancellationToken) =>
        _recorded is null ? _inner.ReadAsync(cancellationToken) : RecordAsync(_inner.ReadAsync(cancellationToken));

    /// <summary>
    /// Keeps the first rows the caller reads from here on, to compare with what the other strand returned (contract
    /// amendment 34). Not in sequential access, where reading a row's values ahead of the caller would take them from it
    /// (the engine opens a write's readers without it).
    /// </summary>
    internal void RecordRows() => _recorded = (_behavior & CommandBehavior.SequentialAccess) == 0 ? new() : null;

    /// <inheritdoc />
    public override bool NextResult()
    {
        _recorded?.NextResult();
        return _inner.NextResult();
    }

    /// <inheritdoc />
    public override Task<bool> NextResultAsync(CancellationToken cancellationToken)
    {
        _recorded?.NextResult();
        return _inner.NextResultAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override bool GetBoolean(int ordinal) => _inner.GetBoolean(ordinal);

    /// <inheritdoc />
    public override byte GetByte(int ordinal) => _inner.GetByte(ordinal);

    /// <inheritdoc />
    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length) => _inner.GetBytes(ordinal, dataOffset, buffer, bufferOffset, length);

    /// <inheritdoc />
    public override char GetChar(int ordinal) => _inner.GetChar(ordinal);

    /// <inheritdoc />
    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length) => _inner.GetChars(ordinal, dataOffset, buffer, bufferOffset, length);

    /// <inheritdoc />
    public override string GetDataTypeName(int ordinal) => _inner.GetDataTypeName(ordinal);

    /// <inheritdoc />
    public override DateTime GetDateTime(int ordinal) => _inner.GetDateTime(ordinal);

    /// <inheritdoc />
    public override decimal GetDecimal(int ordinal) => _inner.GetDecimal(ordinal);

    /// <inheritdoc />
    public override double GetDouble(int ordinal) => _inner.GetDouble(ordinal);

    /// <inheritdoc />
    [return: DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicProperties)]
    public override Type GetFieldType(int ordinal) => _inner.GetFieldType(ordinal);

    /// <inheritdoc />
    public override float GetFloat(int ordinal) => _inner.GetFloat(ordinal);

    /// <inheritdoc />
    public override Guid GetGuid(int ordinal) => _inner.GetGuid(ordinal);

    /// <inheritdoc />
    public override short GetInt16(int ordinal) => _inner.GetInt16(ordinal);

    /// <inheritdoc />
    public override int GetInt32(int ordinal) => _inner.GetInt32(ordinal);

    /// <inheritdoc />
    public override long GetInt64(int ordinal) => _inner.GetInt64(ordinal);

    /// <inheritdoc />
    public override string GetName(int ordinal) => _inner.GetName(ordinal);

    /// <inheritdoc />
    public override int GetOrdinal(string name) => _inner.GetOrdinal(name);

    /// <inheritdoc />
    public override string GetString(int ordinal) => _inner.GetString(ordinal);

    /// <inheritdoc />
    public override object GetValue(int ordinal) => _inner.GetValue(ordinal);

    /// <inheritdoc />
    public override int GetValues(object[] values) => _inner.GetValues(values);

    /// <inheritdoc />
    public override bool IsDBNull(int ordinal) => _inner.IsDBNull(ordinal);

    /// <inheritdoc />
    public override Task<bool> IsDBNullAsync(int ordinal, CancellationToken cancellationToken) => _inner.IsDBNullAsync(ordinal, cancellationToken);

    /// <inheritdoc />
    public override T GetFieldValue<T>(int ordinal) => _inner.GetFieldValue<T>(ordinal);

    /// <inheritdoc />
    public override Task<T> GetFieldValueAsync<T>(int ordinal, CancellationToken cancellationToken) => _inner.GetFieldValueAsync<T>(ordinal, cancellationToken);

    /// <inheritdoc />
    public override Stream GetStream(int ordinal) => _inner.GetStream(ordinal);

    /// <inheritdoc />
    public override TextReader GetTextReader(int ordinal) => _inner.GetTextReader(ordinal);

    /// <inheritdoc />
    public override Type GetProviderSpecificFieldType(int ordinal) => _inner.GetProviderSpecificFieldType(ordinal);

    /// <inheritdoc />
    public override object GetProviderSpecificValue(int ordinal) => _inner.GetProviderSpecificValue(ordinal);

    /// <inheritdoc />
    public override int GetProviderSpecificValues(object[] values) => _inner.GetProviderSpecificValues(values);

    /// <inheritdoc />
    public override DataTable? GetSchemaTable() => _inner.GetSchemaTable();

    /// <inheritdoc />
    public override Task<DataTable?> GetSchemaTableAsync(CancellationToken cancellationToken = default) => _inner.GetSchemaTableAsync(cancellationToken);

    /// <summary>Gets the column schema of the inner reader.</summary>
    /// <returns>The columns of the current result set.</returns>
    public ReadOnlyCollection<DbColumn> GetColumnSchema() => _inner.GetColumnSchema();

    /// <inheritdoc />
    public override Task<ReadOnlyCollection<DbColumn>> GetColumnSchemaAsync(CancellationToken cancellationToken = default) => _inner.GetColumnSchemaAsync(cancellationToken);

    /// <inheritdoc />
    public override IEnumerator GetEnumerator() => new DbEnumerator(this, closeReader: false);

    /// <inheritdoc />
    public override void Close()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _inner.Close();
        Complete();
    }

    /// <inheritdoc />
    public override Task CloseAsync()
    {
        if (_closed)
        {
            return Task.CompletedTask;
        }

        _closed = true;
        Task closing;
        try
        {
            closing = _inner.CloseAsync();
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }

        if (!closing.IsCompletedSuccessfully)
        {
            return CompleteAfterAsync(closing);
        }

        Complete();
        return Task.CompletedTask;

        async Task CompleteAfterAsync(Task closing)
        {
            await closing.ConfigureAwait(false);
            Complete();
        }
    }

    /// <inheritdoc />
    /// <remarks>Not an async method: when the inner reader closes and disposes at once (SQLite), no state machine runs.</remarks>
    [SuppressMessage("Usage", "CA2215", Justification = "Every path disposes the base once: DisposeInnerAsync and DisposeAfterInnerAsync call it; a pooled reader was disposed already.")]
    public override ValueTask DisposeAsync()
    {
        if (_pooled)
        {
            return default;
        }

        var closing = CloseAsync();
        return closing.IsCompletedSuccessfully ? DisposeInnerAsync() : DisposeAfterCloseAsync(closing);
    }

    private ValueTask DisposeInnerAsync()
    {
        ValueTask disposing;
        try
        {
            disposing = _inner.DisposeAsync();
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }

        if (!disposing.IsCompletedSuccessfully)
        {
            return DisposeAfterInnerAsync(disposing);
        }

        disposing.GetAwaiter().GetResult();
        return base.DisposeAsync(); // calls Dispose(true), which gives the reader back: nothing may follow
    }

    private async ValueTask DisposeAfterCloseAsync(Task closing)
    {
        await closing.ConfigureAwait(false);
        await DisposeInnerAsync().ConfigureAwait(false);
    }

    private async ValueTask DisposeAfterInnerAsync(ValueTask disposing)
    {
        await disposing.ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_pooled)
        {
            Close();
            _inner.Dispose();
            ReturnToPool();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    protected override DbDataReader GetDbDataReader(int ordinal) => _inner.GetData(ordinal);

    private void Complete()
    {
        var onClose = _onClose;
        _onClose = null;
        onClose?.Invoke(this);
        _command.OnReaderClosed(this);
        if ((_behavior & CommandBehavior.CloseConnection) != 0)
        {
            _command.Connection?.Close();
        }
    }

    private bool Record(bool read)
    {
        if (read)
        {
            _recorded!.Read(_inner);
        }

        return read;
    }

    private async Task<bool> RecordAsync(Task<bool> reading) => Record(await reading.ConfigureAwait(false));

    private void ReturnToPool()
    {
        // The command is no longer reachable from a disposed reader; the disposed inner reader stays, so that a caller who
        // goes on using the reader gets the provider's own error until its connection runs another command.
        (_onClose, _command, _pooled, _recorded) = (null, null!, true, null);
        _connection.IdleReader = this;
    }
}
