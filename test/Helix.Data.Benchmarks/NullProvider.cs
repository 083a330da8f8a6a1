using System.Collections;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;

namespace Helix.Data.Benchmarks;

/// <summary>
/// An ADO.NET provider without a database: every command answers at once, a query with the one seeded row. Through it a
/// benchmark measures what the ADO.NET layers above a provider cost by themselves (Dapper plus the plain provider, or
/// Dapper plus Helix.Data plus the provider twice), in nanoseconds that a real database's microseconds would hide.
/// </summary>
internal sealed class NullFactory : DbProviderFactory
{
    /// <summary>The invariant name it is registered under.</summary>
    public const string InvariantName = "Helix.Benchmarks.Null";

    /// <summary>The single instance.</summary>
    public static readonly NullFactory Instance = new();

    /// <summary>Registers the provider with <see cref="DbProviderFactories"/> (once is enough; again is harmless).</summary>
    public static void Register() => DbProviderFactories.RegisterFactory(InvariantName, Instance);

    /// <inheritdoc />
    public override DbConnection CreateConnection() => new NullConnection();

    /// <inheritdoc />
    public override DbCommand CreateCommand() => new NullCommand();

    /// <inheritdoc />
    public override DbParameter CreateParameter() => new NullParameter();

    /// <inheritdoc />
    public override DbConnectionStringBuilder CreateConnectionStringBuilder() => new();
}

/// <summary>A connection that opens at once.</summary>
internal sealed class NullConnection : DbConnection
{
    private ConnectionState _state;

    /// <inheritdoc />
    [AllowNull]
    public override string ConnectionString { get; set; } = string.Empty;

    /// <inheritdoc />
    public override string Database => "null";

    /// <inheritdoc />
    public override string DataSource => "null";

    /// <inheritdoc />
    public override string ServerVersion => "1.0";

    /// <inheritdoc />
    public override ConnectionState State => _state;

    /// <inheritdoc />
    public override void ChangeDatabase(string databaseName)
    {
    }

    /// <inheritdoc />
    public override void Close() => _state = ConnectionState.Closed;

    /// <inheritdoc />
    public override void Open() => _state = ConnectionState.Open;

    /// <inheritdoc />
    protected override DbProviderFactory DbProviderFactory => NullFactory.Instance;

    /// <inheritdoc />
    protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => new NullTransaction(this, isolationLevel);

    /// <inheritdoc />
    protected override DbCommand CreateDbCommand() => new NullCommand { Connection = this };
}

/// <summary>A transaction with nothing to commit.</summary>
internal sealed class NullTransaction(NullConnection connection, IsolationLevel isolationLevel) : DbTransaction
{
    public override IsolationLevel IsolationLevel { get; } = isolationLevel;

    protected override DbConnection DbConnection { get; } = connection;

    public override void Commit()
    {
    }

    public override void Rollback()
    {
    }
}

/// <summary>A command that answers at once: one row affected, or the seeded row.</summary>
internal sealed class NullCommand : DbCommand
{
    private readonly NullParameterCollection _parameters = new();

    /// <inheritdoc />
    [AllowNull]
    public override string CommandText { get; set; } = string.Empty;

    /// <inheritdoc />
    public override int CommandTimeout { get; set; } = 30;

    /// <inheritdoc />
    public override CommandType CommandType { get; set; } = CommandType.Text;

    /// <inheritdoc />
    public override bool DesignTimeVisible { get; set; }

    /// <inheritdoc />
    public override UpdateRowSource UpdatedRowSource { get; set; }

    /// <inheritdoc />
    protected override DbConnection? DbConnection { get; set; }

    /// <inheritdoc />
    protected override DbParameterCollection DbParameterCollection => _parameters;

    /// <inheritdoc />
    protected override DbTransaction? DbTransaction { get; set; }

    /// <inheritdoc />
    public override void Cancel()
    {
    }

    /// <inheritdoc />
    public override int ExecuteNonQuery() => 1;

    /// <inheritdoc />
    public override object? ExecuteScalar() => Stores.SeededId;

    /// <inheritdoc />
    public override void Prepare()
    {
    }

    /// <inheritdoc />
    protected override DbParameter CreateDbParameter() => new NullParameter();

    /// <inheritdoc />
    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => new NullDataReader();
}

/// <summary>A parameter that holds what it is given.</summary>
internal sealed class NullParameter : DbParameter
{
    /// <inheritdoc />
    public override DbType DbType { get; set; } = DbType.String;

    /// <inheritdoc />
    public override ParameterDirection Direction { get; set; } = ParameterDirection.Input;

    /// <inheritdoc />
    public override bool IsNullable { get; set; }

    /// <inheritdoc />
    [AllowNull]
    public override string ParameterName { get; set; } = string.Empty;

    /// <inheritdoc />
    public override int Size { get; set; }

    /// <inheritdoc />
    [AllowNull]
    public override string SourceColumn { get; set; } = string.Empty;

    /// <inheritdoc />
    public override bool SourceColumnNullMapping { get; set; }

    /// <inheritdoc />
    public override object? Value { get; set; }

    /// <inheritdoc />
    public override void ResetDbType() => DbType = DbType.String;
}

/// <summary>The parameters of a <see cref="NullCommand"/>.</summary>
internal sealed class NullParameterCollection : DbParameterCollection
{
    private readonly List<DbParameter> _items = [];

    /// <inheritdoc />
    public override int Count => _items.Count;

    /// <inheritdoc />
    public override object SyncRoot => _items;

    /// <inheritdoc />
    public override int Add(object value)
    {
        _items.Add((DbParameter)value);
        return _items.Count - 1;
    }

    /// <inheritdoc />
    public override void AddRange(Array values)
    {
        foreach (var value in values)
        {
            Add(value!);
        }
    }

    /// <inheritdoc />
    public override void Clear() => _items.Clear();

    /// <inheritdoc />
    public override bool Contains(object value) => _items.Contains((DbParameter)value);

    /// <inheritdoc />
    public override bool Contains(string value) => IndexOf(value) >= 0;

    /// <inheritdoc />
    public override void CopyTo(Array array, int index) => ((ICollection)_items).CopyTo(array, index);

    /// <inheritdoc />
    public override IEnumerator GetEnumerator() => _items.GetEnumerator();

    /// <inheritdoc />
    public override int IndexOf(object value) => _items.IndexOf((DbParameter)value);

    /// <inheritdoc />
    public override int IndexOf(string parameterName) => _items.FindIndex(p => p.ParameterName == parameterName);

    /// <inheritdoc />
    public override void Insert(int index, object value) => _items.Insert(index, (DbParameter)value);

    /// <inheritdoc />
    public override void Remove(object value) => _items.Remove((DbParameter)value);

    /// <inheritdoc />
    public override void RemoveAt(int index) => _items.RemoveAt(index);

    /// <inheritdoc />
    public override void RemoveAt(string parameterName) => _items.RemoveAt(IndexOf(parameterName));

    /// <inheritdoc />
    protected override DbParameter GetParameter(int index) => _items[index];

    /// <inheritdoc />
    protected override DbParameter GetParameter(string parameterName) => _items[IndexOf(parameterName)];

    /// <inheritdoc />
    protected override void SetParameter(int index, DbParameter value) => _items[index] = value;

    /// <inheritdoc />
    protected override void SetParameter(string parameterName, DbParameter value) => _items[IndexOf(parameterName)] = value;
}

/// <summary>A reader of one row: the seeded <see cref="Row"/>.</summary>
internal sealed class NullDataReader : DbDataReader
{
    private static readonly string[] Names = ["id", "name", "amount", "version"];
    private static readonly Type[] Types = [typeof(string), typeof(string), typeof(decimal), typeof(long)];
    private static readonly object[] Values = [Stores.SeededId, "Ada Lovelace", 12.5m, 1L];
    private int _position = -1;
    private bool _closed;

    public override int Depth => 0;

    public override int FieldCount => Names.Length;

    public override bool HasRows => true;

    public override bool IsClosed => _closed;

    public override int RecordsAffected => -1;

    public override object this[int ordinal] => GetValue(ordinal);

    public override object this[string name] => GetValue(GetOrdinal(name));

    public override bool GetBoolean(int ordinal) => (bool)GetValue(ordinal);

    public override byte GetByte(int ordinal) => (byte)GetValue(ordinal);

    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length) => throw new NotSupportedException();

    public override char GetChar(int ordinal) => (char)GetValue(ordinal);

    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length) => throw new NotSupportedException();

    public override string GetDataTypeName(int ordinal) => Types[ordinal].Name;

    public override DateTime GetDateTime(int ordinal) => (DateTime)GetValue(ordinal);

    public override decimal GetDecimal(int ordinal) => (decimal)GetValue(ordinal);

    public override double GetDouble(int ordinal) => (double)GetValue(ordinal);

    public override IEnumerator GetEnumerator() => new DbEnumerator(this);

    public override Type GetFieldType(int ordinal) => Types[ordinal];

    public override float GetFloat(int ordinal) => (float)GetValue(ordinal);

    public override Guid GetGuid(int ordinal) => (Guid)GetValue(ordinal);

    public override short GetInt16(int ordinal) => (short)GetValue(ordinal);

    public override int GetInt32(int ordinal) => (int)GetValue(ordinal);

    public override long GetInt64(int ordinal) => (long)GetValue(ordinal);

    public override string GetName(int ordinal) => Names[ordinal];

    public override int GetOrdinal(string name) => Array.IndexOf(Names, name);

    public override string GetString(int ordinal) => (string)GetValue(ordinal);

    public override object GetValue(int ordinal) => _position == 0 ? Values[ordinal] : throw new InvalidOperationException("No current row.");

    public override int GetValues(object[] values)
    {
        var count = Math.Min(values.Length, Values.Length);
        Array.Copy(Values, values, count);
        return count;
    }

    public override bool IsDBNull(int ordinal) => false;

    public override bool NextResult() => false;

    public override bool Read() => ++_position == 0;

    public override void Close() => _closed = true;
}
