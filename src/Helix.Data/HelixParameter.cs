using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;

namespace Helix.Data;

/// <summary>
/// A provider-neutral parameter. <see cref="HelixProviderFactory.CreateParameter"/> returns one because the factory
/// cannot know which provider a connection will use; <see cref="HelixCommand.CreateParameter"/> returns the primary
/// provider's own parameter type instead, so provider-specific settings work.
/// </summary>
/// <remarks>When the command runs, each strand gets a copy made with its own provider.</remarks>
public sealed class HelixParameter : DbParameter, ICloneable
{
    private DbType? _dbType;
    private string _parameterName = string.Empty;
    private string _sourceColumn = string.Empty;

    /// <summary>Initializes a new instance of the <see cref="HelixParameter"/> class.</summary>
    public HelixParameter()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="HelixParameter"/> class with a name and a value.</summary>
    /// <param name="parameterName">The name, with or without the prefix the SQL text uses.</param>
    /// <param name="value">The value; <see langword="null"/> and <see cref="DBNull.Value"/> both mean SQL NULL.</param>
    public HelixParameter(string? parameterName, object? value)
    {
        ParameterName = parameterName;
        Value = value;
    }

    /// <summary>Initializes a new instance of the <see cref="HelixParameter"/> class with a name and a type.</summary>
    /// <param name="parameterName">The name, with or without the prefix the SQL text uses.</param>
    /// <param name="dbType">The type of the parameter.</param>
    public HelixParameter(string? parameterName, DbType dbType)
    {
        ParameterName = parameterName;
        DbType = dbType;
    }

    /// <summary>Gets or sets the type of the parameter. Unless set, it is inferred from <see cref="Value"/>.</summary>
    public override DbType DbType
    {
        get => _dbType ?? InferDbType(Value);
        set => _dbType = value;
    }

    /// <inheritdoc />
    public override ParameterDirection Direction { get; set; } = ParameterDirection.Input;

    /// <inheritdoc />
    public override bool IsNullable { get; set; }

    /// <inheritdoc />
    [AllowNull]
    public override string ParameterName
    {
        get => _parameterName;
        set => _parameterName = value ?? string.Empty;
    }

    /// <inheritdoc />
    [AllowNull]
    public override string SourceColumn
    {
        get => _sourceColumn;
        set => _sourceColumn = value ?? string.Empty;
    }

    /// <inheritdoc />
    public override bool SourceColumnNullMapping { get; set; }

    /// <inheritdoc />
    public override object? Value { get; set; }

    /// <inheritdoc />
    public override DataRowVersion SourceVersion { get; set; } = DataRowVersion.Current;

    /// <inheritdoc />
    public override int Size { get; set; }

    /// <inheritdoc />
    public override byte Precision { get; set; }

    /// <inheritdoc />
    public override byte Scale { get; set; }

    /// <inheritdoc />
    public override void ResetDbType() => _dbType = null;

    /// <summary>Creates a copy of this parameter.</summary>
    /// <returns>A new <see cref="HelixParameter"/> with the same name, value and settings.</returns>
    public HelixParameter Clone() => (HelixParameter)MemberwiseClone();

    object ICloneable.Clone() => Clone();

    /// <summary>A parameter with the same value and nothing set explicitly, to tell set settings from inferred ones.</summary>
    internal HelixParameter CreateReference() => new() { Value = Value };

    private static DbType InferDbType(object? value) => value switch
    {
        null or DBNull => DbType.Object,
        string or char => DbType.String,
        bool => DbType.Boolean,
        byte => DbType.Byte,
        sbyte => DbType.SByte,
        short => DbType.Int16,
        ushort => DbType.UInt16,
        int => DbType.Int32,
        uint => DbType.UInt32,
        long => DbType.Int64,
        ulong => DbType.UInt64,
        float => DbType.Single,
        double => DbType.Double,
        decimal => DbType.Decimal,
        DateTime => DbType.DateTime,
        DateTimeOffset => DbType.DateTimeOffset,
        DateOnly => DbType.Date,
        TimeOnly or TimeSpan => DbType.Time,
        Guid => DbType.Guid,
        byte[] => DbType.Binary,
        _ => DbType.Object,
    };
}
