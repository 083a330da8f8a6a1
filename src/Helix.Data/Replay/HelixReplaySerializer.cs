using System.Data;
using System.Data.Common;
using System.Text;
using Helix.Data.Internal;

namespace Helix.Data.Replay;

/// <summary>
/// Turns replay entries into bytes and back, for durable queues. The format is versioned and typed: values keep their
/// exact CLR type (a <see cref="DateTime"/> its <see cref="DateTime.Kind"/>, a <see cref="decimal"/> its scale), and
/// parameters keep the settings their maker gave them (<see cref="DbType"/>, size, precision, scale, and provider
/// settings such as <c>NpgsqlDbType</c>).
/// </summary>
/// <remarks>
/// Supported values: <see langword="null"/>, <see cref="DBNull"/>, <see cref="bool"/>, every integer type,
/// <see cref="float"/>, <see cref="double"/>, <see cref="decimal"/>, <see cref="string"/>, <see cref="char"/>,
/// <see cref="Guid"/>, <c>byte[]</c>, <see cref="DateTime"/>, <see cref="DateTimeOffset"/>, <see cref="DateOnly"/>,
/// <see cref="TimeOnly"/>, <see cref="TimeSpan"/>, enums, and one-dimensional arrays of these; and a value whose type has a
/// <see cref="System.ComponentModel.TypeConverter"/> that writes it as an invariant string and reads back an equal value
/// (NodaTime's <c>Instant</c>, <c>LocalDate</c> and the like), stored as that string with its type's name.
/// A durable queue refuses a write with any other value before anything is written (<see cref="CanStore"/>).
/// </remarks>
public static partial class HelixReplaySerializer
{
    /// <summary>The format version this library writes.</summary>
    public const byte Version = 1;

    private static ReadOnlySpan<byte> Magic => "HXR"u8;

    /// <summary>Whether a value can be stored in a replay entry.</summary>
    /// <param name="value">A parameter value.</param>
    /// <returns><see langword="true"/> when <see cref="Serialize"/> can store it.</returns>
    public static bool CanStore(object? value) => value switch
    {
        null or DBNull or bool or sbyte or byte or short or ushort or int or uint or long or ulong or float or double
            or decimal or string or char or Guid or byte[] or DateTime or DateTimeOffset or DateOnly or TimeOnly or TimeSpan => true,
        Enum => true,
        Array array => array.Rank == 1 && IsStorableElementType(array.GetType().GetElementType()!) && array.Cast<object?>().All(CanStore),
        _ => ReadsBackAsText(value),
    };

    /// <summary>Throws a <see cref="NotSupportedException"/> naming the parameter when its value cannot be stored.</summary>
    /// <param name="parameterName">The parameter's name, for the message.</param>
    /// <param name="value">Its value.</param>
    public static void ThrowIfCannotStore(string parameterName, object? value)
    {
        if (!CanStore(value))
        {
            throw new NotSupportedException(
                $"Parameter '{parameterName}' has a value of type {value!.GetType().FullName}, which the durable replay queue cannot store, so the write was refused before anything ran. "
                + "Supported: null, DBNull, bool, integers, float, double, decimal, string, char, Guid, byte[], DateTime, DateTimeOffset, DateOnly, TimeOnly, TimeSpan, enums, one-dimensional arrays of these, "
                + "and types whose TypeConverter writes them as a string and reads back an equal value (NodaTime's); "
                + "convert the value (for example to a string or a byte array), give its type such a converter at startup (TypeDescriptor.AddAttributes), or use Replay=Memory.");
        }
    }

    /// <summary>Serializes an entry.</summary>
    /// <param name="entry">The entry.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="NotSupportedException">A parameter value cannot be stored.</exception>
    public static byte[] Serialize(HelixReplayEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(entry.Id.ToByteArray());
            writer.Write((byte)entry.Strand);
            writer.Write(entry.Timestamp);
            writer.Write(entry.CreatedAt.UtcTicks);
            writer.Write((byte)entry.Priority);
            writer.Write(entry.IsTransaction);
            WriteNullable(writer, entry.Error);
            writer.Write(entry.Attempts);
            writer.Write(entry.Statements.Count);
            foreach (var statement in entry.Statements)
            {
                writer.Write(statement.CommandText);
                writer.Write((byte)statement.CommandType);
                writer.Write(statement.CommandTimeout.HasValue);
                writer.Write(statement.CommandTimeout ?? 0);
                writer.Write(statement.Parameters.Count);
                foreach (var parameter in statement.Parameters)
                {
                    WriteParameter(writer, parameter);
                }
            }
        }

        return stream.ToArray();
    }

    /// <summary>Serializes several entries (an intent: one entry per strand) into one buffer.</summary>
    /// <param name="entries">The entries.</param>
    /// <returns>The bytes.</returns>
    public static byte[] SerializeMany(IReadOnlyList<HelixReplayEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write(entries.Count);
        foreach (var entry in entries)
        {
            var data = Serialize(entry);
            writer.Write(data.Length);
            writer.Write(data);
        }

        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>Reads entries that <see cref="SerializeMany"/> wrote.</summary>
    /// <param name="data">The bytes.</param>
    /// <param name="factoryOf">The provider of each strand.</param>
    /// <returns>The entries.</returns>
    public static IReadOnlyList<HelixReplayEntry> DeserializeMany(ReadOnlyMemory<byte> data, Func<HelixStrand, DbProviderFactory> factoryOf)
    {
        var count = BitConverter.ToInt32(data.Span[..4]);
        var entries = new List<HelixReplayEntry>(count);
        var offset = 4;
        for (var i = 0; i < count; i++)
        {
            var length = BitConverter.ToInt32(data.Span.Slice(offset, 4));
            entries.Add(Deserialize(data.Slice(offset + 4, length), factoryOf));
            offset += 4 + length;
        }

        return entries;
    }

    /// <summary>Reads an entry back, making its parameters with the target strand's provider.</summary>
    /// <param name="data">The bytes <see cref="Serialize"/> made.</param>
    /// <param name="factoryOf">The provider of each strand.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="InvalidDataException">The bytes are not a replay entry of a version this library reads.</exception>
    public static HelixReplayEntry Deserialize(ReadOnlyMemory<byte> data, Func<HelixStrand, DbProviderFactory> factoryOf)
    {
        ArgumentNullException.ThrowIfNull(factoryOf);
        if (data.Length < 4 || !data.Span[..3].SequenceEqual(Magic))
        {
            throw new InvalidDataException("The data is not a Helix replay entry.");
        }

        if (data.Span[3] != Version)
        {
            throw new InvalidDataException($"The replay entry has format version {data.Span[3]}; this version of Helix.Data reads version {Version}.");
        }

        using var reader = new BinaryReader(new MemoryStream(data[4..].ToArray()), Encoding.UTF8);
        var id = new Guid(reader.ReadBytes(16));
        var strand = (HelixStrand)reader.ReadByte();
        var timestamp = reader.ReadInt64();
        var createdAt = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var priority = (HelixReplayPriority)reader.ReadByte();
        var isTransaction = reader.ReadBoolean();
        var error = ReadNullable(reader);
        var attempts = reader.ReadInt32();
        var factory = factoryOf(strand);
        var statements = new HelixReplayStatement[reader.ReadInt32()];
        for (var i = 0; i < statements.Length; i++)
        {
            var text = reader.ReadString();
            var commandType = (CommandType)reader.ReadByte();
            var hasTimeout = reader.ReadBoolean();
            var timeout = reader.ReadInt32();
            var parameters = new DbParameter[reader.ReadInt32()];
            for (var p = 0; p < parameters.Length; p++)
            {
                parameters[p] = ReadParameter(reader, factory);
            }

            statements[i] = new HelixReplayStatement(text, commandType, parameters, hasTimeout ? timeout : null);
        }

        return new HelixReplayEntry(id, strand, timestamp, createdAt, priority, statements, isTransaction, error, attempts);
    }

    private static void WriteParameter(BinaryWriter writer, DbParameter parameter)
    {
        ThrowIfCannotStore(parameter.ParameterName, parameter.Value);
        writer.Write(parameter.ParameterName ?? string.Empty);
        writer.Write((byte)parameter.Direction);
        var settings = ParameterCopier.ExplicitSettings(parameter, providerSettings: true).Where(s => CanStore(s.Value)).ToList();
        writer.Write(settings.Count);
        foreach (var (property, value) in settings)
        {
            writer.Write(property.Name);
            WriteValue(writer, value);
        }

        WriteValue(writer, parameter.Value);
    }

    private static DbParameter ReadParameter(BinaryReader reader, DbProviderFactory factory)
    {
        var parameter = factory.CreateParameter() ?? throw new InvalidOperationException($"The provider {factory.GetType().Name} cannot create parameters.");
        parameter.ParameterName = reader.ReadString();
        parameter.Direction = (ParameterDirection)reader.ReadByte();
        var count = reader.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            var value = ReadValue(reader);
            var property = parameter.GetType().GetProperty(name);
            if (property is { CanWrite: true })
            {
                var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                property.SetValue(parameter, value is not null && type.IsEnum && !type.IsInstanceOfType(value) ? Enum.ToObject(type, value) : value);
            }
        }

        parameter.Value = ReadValue(reader);
        return parameter;
    }

    private static void WriteNullable(BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null)
        {
            writer.Write(value);
        }
    }

    private static string? ReadNullable(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;
}
