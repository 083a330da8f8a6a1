using System.Collections.Concurrent;
using System.ComponentModel;
using System.Globalization;

namespace Helix.Data.Replay;

/// <content>How one value is written and read back with its exact type: a tag per type, then the value.</content>
public static partial class HelixReplaySerializer
{
    private static readonly ConcurrentDictionary<string, Type?> Types = new(StringComparer.Ordinal);

    private enum Tag : byte
    {
        Null = 0,
        DbNull = 1,
        Boolean = 2,
        SByte = 3,
        Byte = 4,
        Int16 = 5,
        UInt16 = 6,
        Int32 = 7,
        UInt32 = 8,
        Int64 = 9,
        UInt64 = 10,
        Single = 11,
        Double = 12,
        Decimal = 13,
        String = 14,
        Char = 15,
        Guid = 16,
        Bytes = 17,
        DateTime = 18,
        DateTimeOffset = 19,
        DateOnly = 20,
        TimeOnly = 21,
        TimeSpan = 22,
        Array = 23,
        Enum = 24,
        Text = 25,
    }

    private static void WriteValue(BinaryWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.Write((byte)Tag.Null);
                break;
            case DBNull:
                writer.Write((byte)Tag.DbNull);
                break;
            case bool v:
                writer.Write((byte)Tag.Boolean);
                writer.Write(v);
                break;
            case sbyte v:
                writer.Write((byte)Tag.SByte);
                writer.Write(v);
                break;
            case byte v:
                writer.Write((byte)Tag.Byte);
                writer.Write(v);
                break;
            case short v:
                writer.Write((byte)Tag.Int16);
                writer.Write(v);
                break;
            case ushort v:
                writer.Write((byte)Tag.UInt16);
                writer.Write(v);
                break;
            case int v:
                writer.Write((byte)Tag.Int32);
                writer.Write(v);
                break;
            case uint v:
                writer.Write((byte)Tag.UInt32);
                writer.Write(v);
                break;
            case long v:
                writer.Write((byte)Tag.Int64);
                writer.Write(v);
                break;
            case ulong v:
                writer.Write((byte)Tag.UInt64);
                writer.Write(v);
                break;
            case float v:
                writer.Write((byte)Tag.Single);
                writer.Write(v);
                break;
            case double v:
                writer.Write((byte)Tag.Double);
                writer.Write(v);
                break;
            case decimal v:
                writer.Write((byte)Tag.Decimal);
                writer.Write(v);
                break;
            case string v:
                writer.Write((byte)Tag.String);
                writer.Write(v);
                break;
            case char v:
                writer.Write((byte)Tag.Char);
                writer.Write((ushort)v);
                break;
            case Guid v:
                writer.Write((byte)Tag.Guid);
                writer.Write(v.ToByteArray());
                break;
            case byte[] v:
                writer.Write((byte)Tag.Bytes);
                writer.Write(v.Length);
                writer.Write(v);
                break;
            case DateTime v:
                writer.Write((byte)Tag.DateTime);
                writer.Write(v.ToBinary());
                break;
            case DateTimeOffset v:
                writer.Write((byte)Tag.DateTimeOffset);
                writer.Write(v.Ticks);
                writer.Write(v.Offset.Ticks);
                break;
            case DateOnly v:
                writer.Write((byte)Tag.DateOnly);
                writer.Write(v.DayNumber);
                break;
            case TimeOnly v:
                writer.Write((byte)Tag.TimeOnly);
                writer.Write(v.Ticks);
                break;
            case TimeSpan v:
                writer.Write((byte)Tag.TimeSpan);
                writer.Write(v.Ticks);
                break;
            case Enum v:
                writer.Write((byte)Tag.Enum);
                writer.Write(TypeName(v.GetType()));
                writer.Write(Convert.ToInt64(v, CultureInfo.InvariantCulture));
                break;
            case Array v when v.Rank == 1:
                writer.Write((byte)Tag.Array);
                writer.Write(TypeName(v.GetType().GetElementType()!));
                writer.Write(v.Length);
                foreach (var element in v)
                {
                    WriteValue(writer, element);
                }

                break;
            case var v when TextConverter(v.GetType()) is { } converter:
                writer.Write((byte)Tag.Text);
                writer.Write(TypeName(v.GetType()));
                writer.Write(converter.ConvertToInvariantString(v)!);
                break;
            default:
                throw new NotSupportedException($"A value of type {value.GetType().FullName} cannot be stored in a replay entry.");
        }
    }

    private static object? ReadValue(BinaryReader reader)
    {
        var tag = (Tag)reader.ReadByte();
        return tag switch
        {
            Tag.Null => null,
            Tag.DbNull => DBNull.Value,
            Tag.Boolean => reader.ReadBoolean(),
            Tag.SByte => reader.ReadSByte(),
            Tag.Byte => reader.ReadByte(),
            Tag.Int16 => reader.ReadInt16(),
            Tag.UInt16 => reader.ReadUInt16(),
            Tag.Int32 => reader.ReadInt32(),
            Tag.UInt32 => reader.ReadUInt32(),
            Tag.Int64 => reader.ReadInt64(),
            Tag.UInt64 => reader.ReadUInt64(),
            Tag.Single => reader.ReadSingle(),
            Tag.Double => reader.ReadDouble(),
            Tag.Decimal => reader.ReadDecimal(),
            Tag.String => reader.ReadString(),
            Tag.Char => (char)reader.ReadUInt16(),
            Tag.Guid => new Guid(reader.ReadBytes(16)),
            Tag.Bytes => reader.ReadBytes(reader.ReadInt32()),
            Tag.DateTime => DateTime.FromBinary(reader.ReadInt64()),
            Tag.DateTimeOffset => new DateTimeOffset(reader.ReadInt64(), new TimeSpan(reader.ReadInt64())),
            Tag.DateOnly => DateOnly.FromDayNumber(reader.ReadInt32()),
            Tag.TimeOnly => new TimeOnly(reader.ReadInt64()),
            Tag.TimeSpan => new TimeSpan(reader.ReadInt64()),
            Tag.Enum => ReadEnum(reader.ReadString(), reader.ReadInt64()),
            Tag.Array => ReadArray(reader),
            Tag.Text => ReadText(reader.ReadString(), reader.ReadString()),
            _ => throw new InvalidDataException($"Unknown value tag {(byte)tag} in a replay entry."),
        };
    }

    private static object ReadEnum(string typeName, long value) =>
        ResolveType(typeName) is { IsEnum: true } type ? Enum.ToObject(type, value) : value;

    /// <summary>A value stored as text by its type's converter; the text itself when this process cannot load the type (its replay then fails as a statement error would).</summary>
    private static object ReadText(string typeName, string text) =>
        ResolveType(typeName) is { } type && TextConverter(type) is { } converter ? converter.ConvertFromInvariantString(text)! : text;

    /// <summary>
    /// The converter that writes a value of <paramref name="type"/> as text and reads it back (a <see cref="TypeConverter"/>
    /// of the type's own, to and from a string: NodaTime's <c>Instant</c> and <c>LocalDate</c>; or one an application
    /// gave a type with <see cref="TypeDescriptor.AddAttributes(Type, Attribute[])"/>), or <see langword="null"/>. Not the
    /// converters every type gets (which cannot read a string back) nor those that look a string up among components.
    /// Only converters found are kept, so that one given later is found too.
    /// </summary>
    private static TypeConverter? TextConverter(Type type)
    {
        if (Converters.TryGetValue(type, out var known))
        {
            return known;
        }

        var converter = TypeDescriptor.GetConverter(type);
        if (converter.GetType() == typeof(TypeConverter) || converter is ReferenceConverter
            || !converter.CanConvertTo(typeof(string)) || !converter.CanConvertFrom(typeof(string)))
        {
            return null;
        }

        return Converters.GetOrAdd(type, converter);
    }

    private static readonly ConcurrentDictionary<Type, TypeConverter> Converters = new();

    /// <summary>Whether a value of a type stored as text reads back equal to itself, so that storing it loses nothing.</summary>
    private static bool ReadsBackAsText(object value)
    {
        if (TextConverter(value.GetType()) is not { } converter)
        {
            return false;
        }

        try
        {
            return Equals(converter.ConvertFromInvariantString(converter.ConvertToInvariantString(value)!), value);
        }
        catch (Exception e) when (e is NotSupportedException or FormatException or ArgumentException or InvalidCastException or OverflowException)
        {
            return false;
        }
    }

    private static Array ReadArray(BinaryReader reader)
    {
        var elementType = ResolveType(reader.ReadString()) ?? typeof(object);
        var array = Array.CreateInstance(elementType, reader.ReadInt32());
        for (var i = 0; i < array.Length; i++)
        {
            var element = ReadValue(reader);
            var type = Nullable.GetUnderlyingType(elementType) ?? elementType;
            array.SetValue(element is not null && type.IsEnum && !type.IsInstanceOfType(element) ? Enum.ToObject(type, element) : element, i);
        }

        return array;
    }

    private static bool IsStorableElementType(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying.IsEnum || underlying == typeof(object) || underlying == typeof(byte[]) || (underlying.IsPrimitive && underlying != typeof(IntPtr) && underlying != typeof(UIntPtr))
            || underlying == typeof(decimal) || underlying == typeof(string) || underlying == typeof(Guid) || underlying == typeof(DateTime)
            || underlying == typeof(DateTimeOffset) || underlying == typeof(DateOnly) || underlying == typeof(TimeOnly) || underlying == typeof(TimeSpan);
    }

    private static string TypeName(Type type) =>
        type.Assembly == typeof(object).Assembly ? type.FullName! : $"{type.FullName}, {type.Assembly.GetName().Name}";

    private static Type? ResolveType(string name) => Types.GetOrAdd(name, static n => Type.GetType(n, throwOnError: false));
}
