using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;

namespace Helix.Data.Internal;

/// <summary>
/// An inner provider's <see cref="DbBatch"/> presented as a <see cref="DbCommand"/>, so that a batch runs through the
/// same pipeline as a command (routing, strategies, outcome table, replay, transactions).
/// </summary>
internal sealed class BatchAsCommand(DbBatch batch, DbConnection connection) : DbCommand
{
    [AllowNull]
    public override string CommandText
    {
        get => batch.BatchCommands.Count == 0 ? string.Empty : batch.BatchCommands[0].CommandText;
        set => throw new NotSupportedException("The text of a batch is the text of its commands.");
    }

    public override int CommandTimeout
    {
        get => batch.Timeout;
        set => batch.Timeout = value;
    }

    public override CommandType CommandType { get; set; } = CommandType.Text;

    public override bool DesignTimeVisible { get; set; }

    public override UpdateRowSource UpdatedRowSource { get; set; }

    protected override DbConnection? DbConnection
    {
        get => connection;
        set => throw new NotSupportedException();
    }

    protected override DbParameterCollection DbParameterCollection { get; } = new NoParameters();

    protected override DbTransaction? DbTransaction
    {
        get => batch.Transaction;
        set => batch.Transaction = value;
    }

    /// <summary>The rows each batch command affected, once the batch has run.</summary>
    public int[] RecordsAffected() => [.. batch.BatchCommands.Cast<DbBatchCommand>().Select(c => c.RecordsAffected)];

    /// <summary>Removes the caller's parameter objects from the inner batch commands, so they can be used again.</summary>
    public void DetachParameters()
    {
        foreach (DbBatchCommand command in batch.BatchCommands)
        {
            command.Parameters.Clear();
        }
    }

    public override void Cancel() => batch.Cancel();

    public override int ExecuteNonQuery() => batch.ExecuteNonQuery();

    public override Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken) => batch.ExecuteNonQueryAsync(cancellationToken);

    public override object? ExecuteScalar() => batch.ExecuteScalar();

    public override Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken) => batch.ExecuteScalarAsync(cancellationToken);

    public override void Prepare() => batch.Prepare();

    public override Task PrepareAsync(CancellationToken cancellationToken = default) => batch.PrepareAsync(cancellationToken);

    protected override DbParameter CreateDbParameter() => throw new NotSupportedException("Parameters belong to the batch's commands.");

    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => batch.ExecuteReader(behavior);

    protected override Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken) =>
        batch.ExecuteReaderAsync(behavior, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            batch.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>A batch has no parameters of its own.</summary>
    private sealed class NoParameters : DbParameterCollection
    {
        public override int Count => 0;

        public override object SyncRoot { get; } = new();

        public override int Add(object value) => throw new NotSupportedException();

        public override void AddRange(Array values) => throw new NotSupportedException();

        public override void Clear()
        {
        }

        public override bool Contains(object value) => false;

        public override bool Contains(string value) => false;

        public override void CopyTo(Array array, int index)
        {
        }

        public override System.Collections.IEnumerator GetEnumerator() => Array.Empty<object>().GetEnumerator();

        public override int IndexOf(object value) => -1;

        public override int IndexOf(string parameterName) => -1;

        public override void Insert(int index, object value) => throw new NotSupportedException();

        public override void Remove(object value)
        {
        }

        public override void RemoveAt(int index) => throw new ArgumentOutOfRangeException(nameof(index));

        public override void RemoveAt(string parameterName) => throw new ArgumentException("No such parameter.", nameof(parameterName));

        protected override DbParameter GetParameter(int index) => throw new ArgumentOutOfRangeException(nameof(index));

        protected override DbParameter GetParameter(string parameterName) => throw new ArgumentException("No such parameter.", nameof(parameterName));

        protected override void SetParameter(int index, DbParameter value) => throw new NotSupportedException();

        protected override void SetParameter(string parameterName, DbParameter value) => throw new NotSupportedException();
    }
}
