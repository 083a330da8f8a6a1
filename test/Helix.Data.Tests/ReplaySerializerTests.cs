using System.Data;
using System.Data.Common;
using Helix.Data.Replay;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Helix.Data.Tests;

/// <summary>The durable replay format: every supported value and setting survives the round trip exactly.</summary>
public class ReplaySerializerTests
{
    private enum Colour : short
    {
        Red = 1,
        Blue = 7,
    }

    private static readonly object?[] Values =
    [
        null, DBNull.Value, true, false, (sbyte)-5, (byte)250, (short)-300, (ushort)65000, -70000, 4000000000u,
        long.MinValue, ulong.MaxValue, 1.5f, double.Epsilon, 12.3400m, decimal.MaxValue, "héllo\0world", string.Empty, 'ç',
        Guid.Parse("0198a5c2-7d42-7cde-8f00-0123456789ab"), new byte[] { 0, 1, 255 }, Array.Empty<byte>(),
        new DateTime(2026, 11, 26, 8, 30, 15, 123, DateTimeKind.Utc).AddTicks(4567),
        new DateTime(2026, 11, 26, 8, 30, 15, DateTimeKind.Unspecified),
        new DateTime(2026, 11, 26, 8, 30, 15, DateTimeKind.Local),
        new DateTimeOffset(2026, 11, 26, 8, 30, 15, TimeSpan.FromHours(5.5)), new DateOnly(2026, 2, 28),
        new TimeOnly(23, 59, 59, 999), TimeSpan.FromTicks(-123456789), Colour.Blue,
        new[] { 1, 2, 3 }, new[] { "a", null, "c" }, new int?[] { 1, null }, new[] { Guid.Empty }, new[] { 1.5m },
        new[] { new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc) }, new[] { Colour.Red, Colour.Blue }, new[] { new byte[] { 1 }, new byte[] { 2 } },
    ];

    private static HelixReplayEntry Entry(params DbParameter[] parameters) => new(
        Guid.CreateVersion7(), HelixStrand.Secondary, 1_764_145_815_000_123, new DateTimeOffset(2026, 11, 26, 8, 30, 15, TimeSpan.Zero),
        HelixReplayPriority.Low, [new HelixReplayStatement("INSERT INTO t VALUES (@v)", CommandType.Text, parameters, 17), new HelixReplayStatement("CALL p()", CommandType.StoredProcedure, [], null)],
        isTransaction: true, "TimeoutException: gone", attempts: 2);

    private static HelixReplayEntry RoundTrip(HelixReplayEntry entry, DbProviderFactory factory) =>
        HelixReplaySerializer.Deserialize(HelixReplaySerializer.Serialize(entry), _ => factory);

    [TestCaseSource(nameof(Values))]
    public void A_value_round_trips_with_its_exact_type(object? value)
    {
        var back = RoundTrip(Entry(new SqliteParameter("@v", SqliteType.Text) { Value = value }), SqliteFactory.Instance).Statements[0].Parameters[0].Value;
        if (value is Array array)
        {
            Assert.That(back, Is.TypeOf(value.GetType()).And.EqualTo(array));
        }
        else
        {
            Assert.That(back, value is null ? Is.Null : Is.TypeOf(value.GetType()).And.EqualTo(value));
        }

        if (value is DateTime time)
        {
            Assert.That(((DateTime)back!).Kind, Is.EqualTo(time.Kind));
        }

        if (value is decimal number)
        {
            Assert.That(((decimal)back!).Scale, Is.EqualTo(number.Scale));
        }
    }

    [Test]
    public void The_entry_round_trips()
    {
        var entry = Entry(new SqliteParameter("@v", 5));
        var back = RoundTrip(entry, SqliteFactory.Instance);
        Assert.Multiple(() =>
        {
            Assert.That(back.Id, Is.EqualTo(entry.Id));
            Assert.That(back.Strand, Is.EqualTo(HelixStrand.Secondary));
            Assert.That(back.Timestamp, Is.EqualTo(entry.Timestamp));
            Assert.That(back.CreatedAt, Is.EqualTo(entry.CreatedAt));
            Assert.That(back.Priority, Is.EqualTo(HelixReplayPriority.Low));
            Assert.That(back.IsTransaction, Is.True);
            Assert.That(back.Error, Is.EqualTo("TimeoutException: gone"));
            Assert.That(back.Attempts, Is.EqualTo(2));
            Assert.That(back.Statements.Select(s => (s.CommandText, s.CommandType, s.CommandTimeout)), Is.EqualTo(new[] { ("INSERT INTO t VALUES (@v)", CommandType.Text, (int?)17), ("CALL p()", CommandType.StoredProcedure, (int?)null) }));
        });
    }

    [Test]
    public void Settings_the_caller_made_survive_and_inferred_ones_stay_inferred()
    {
        var typed = new NpgsqlParameter("a", NpgsqlDbType.Jsonb) { Value = "{}" };
        var array = new NpgsqlParameter("b", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = new[] { 1, 2 } };
        var sized = new NpgsqlParameter("c", DbType.Decimal) { Value = 1.5m, Precision = 10, Scale = 2, Direction = ParameterDirection.InputOutput };
        var inferred = new NpgsqlParameter("d", 42);
        var back = RoundTrip(Entry(typed, array, sized, inferred), NpgsqlFactory.Instance).Statements[0].Parameters.Cast<NpgsqlParameter>().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(back[0].NpgsqlDbType, Is.EqualTo(NpgsqlDbType.Jsonb));
            Assert.That(back[1].NpgsqlDbType, Is.EqualTo(NpgsqlDbType.Array | NpgsqlDbType.Integer));
            Assert.That((back[2].DbType, back[2].Precision, back[2].Scale, back[2].Direction), Is.EqualTo((DbType.Decimal, (byte)10, (byte)2, ParameterDirection.InputOutput)));
            Assert.That(back[3].NpgsqlDbType, Is.EqualTo(NpgsqlDbType.Unknown).Or.EqualTo(NpgsqlDbType.Integer), "left for Npgsql to infer");
            Assert.That(back.Select(p => p.ParameterName), Is.EqualTo(new[] { "a", "b", "c", "d" }));
        });
    }

    [Test]
    public void SqliteType_survives()
    {
        var back = RoundTrip(Entry(new SqliteParameter("@v", Guid.Empty) { SqliteType = SqliteType.Blob }), SqliteFactory.Instance);
        Assert.That(((SqliteParameter)back.Statements[0].Parameters[0]).SqliteType, Is.EqualTo(SqliteType.Blob));
    }

    private static readonly object[] Unsupported = [new object(), new int[2, 2], new List<int> { 1 }, new object[] { new object() }, new Lossy(1, 2)];

    private static readonly object[] AsText = [new Temperature(21.5m), new Uri("http://example.com/a?b=c")];

    [TestCaseSource(nameof(AsText))]
    public void A_value_whose_type_converter_reads_its_text_back_round_trips_with_its_exact_type(object value)
    {
        // NodaTime's Instant, LocalDate... (EF Core's NodaTime plugin) are stored this way; a test type stands in here.
        Assert.That(HelixReplaySerializer.CanStore(value), Is.True);
        var back = RoundTrip(Entry(new NpgsqlParameter("@v", NpgsqlDbType.Text) { Value = value }), NpgsqlFactory.Instance);
        Assert.That(back.Statements[0].Parameters[0].Value, Is.TypeOf(value.GetType()).And.EqualTo(value));
        Assert.That(((NpgsqlParameter)back.Statements[0].Parameters[0]).NpgsqlDbType, Is.EqualTo(NpgsqlDbType.Text));
    }

    [Test]
    public void A_value_whose_type_this_process_cannot_load_reads_back_as_its_text()
    {
        // The replaying process lacks the type's assembly: the entry still reads, and applying it fails as a statement
        // error would (retried, then dead-lettered), instead of the queue failing to read.
        var bytes = HelixReplaySerializer.Serialize(Entry(new SqliteParameter("@v", SqliteType.Text) { Value = new Temperature(3m) }));
        var name = System.Text.Encoding.UTF8.GetBytes(typeof(Temperature).FullName!);
        var at = bytes.AsSpan().IndexOf(name);
        Assert.That(at, Is.GreaterThan(0));
        bytes[at + name.Length - 1] = (byte)'X'; // Temperaturx: no such type
        var back = HelixReplaySerializer.Deserialize(bytes, _ => SqliteFactory.Instance);
        Assert.That(back.Statements[0].Parameters[0].Value, Is.EqualTo("3C"));
    }

    [Test]
    public void A_type_an_application_gives_a_converter_is_stored_from_then_on()
    {
        // As for pgvector's Vector, which has no converter of its own: TypeDescriptor.AddAttributes gives it one.
        var value = new Celsius(12.5m);
        Assert.That(HelixReplaySerializer.CanStore(value), Is.False, "no converter yet");
        System.ComponentModel.TypeDescriptor.AddAttributes(typeof(Celsius), new System.ComponentModel.TypeConverterAttribute(typeof(CelsiusConverter)));
        Assert.That(HelixReplaySerializer.CanStore(value), Is.True, "the converter given after the first refusal is found");
        var back = RoundTrip(Entry(new SqliteParameter("@v", SqliteType.Text) { Value = value }), SqliteFactory.Instance);
        Assert.That(back.Statements[0].Parameters[0].Value, Is.TypeOf<Celsius>().And.EqualTo(value));
    }

    /// <summary>A type without a converter of its own, given one by the test.</summary>
    public sealed record Celsius(decimal Degrees);

    private sealed class CelsiusConverter : System.ComponentModel.TypeConverter
    {
        public override bool CanConvertFrom(System.ComponentModel.ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string);

        public override bool CanConvertTo(System.ComponentModel.ITypeDescriptorContext? context, Type? destinationType) => destinationType == typeof(string);

        public override object? ConvertFrom(System.ComponentModel.ITypeDescriptorContext? context, System.Globalization.CultureInfo? culture, object value) =>
            new Celsius(decimal.Parse((string)value, System.Globalization.CultureInfo.InvariantCulture));

        public override object? ConvertTo(System.ComponentModel.ITypeDescriptorContext? context, System.Globalization.CultureInfo? culture, object? value, Type destinationType) =>
            ((Celsius)value!).Degrees.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A value type with a converter to and from its text, as NodaTime's types have.</summary>
    [System.ComponentModel.TypeConverter(typeof(TemperatureConverter))]
    public readonly record struct Temperature(decimal Celsius);

    private sealed class TemperatureConverter : System.ComponentModel.TypeConverter
    {
        public override bool CanConvertFrom(System.ComponentModel.ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string);

        public override bool CanConvertTo(System.ComponentModel.ITypeDescriptorContext? context, Type? destinationType) => destinationType == typeof(string);

        public override object? ConvertFrom(System.ComponentModel.ITypeDescriptorContext? context, System.Globalization.CultureInfo? culture, object value) =>
            new Temperature(decimal.Parse(((string)value).TrimEnd('C'), System.Globalization.CultureInfo.InvariantCulture));

        public override object? ConvertTo(System.ComponentModel.ITypeDescriptorContext? context, System.Globalization.CultureInfo? culture, object? value, Type destinationType) =>
            ((Temperature)value!).Celsius.ToString(System.Globalization.CultureInfo.InvariantCulture) + "C";
    }

    /// <summary>A type whose converter writes only part of it: storing it would lose the rest, so it is refused.</summary>
    [System.ComponentModel.TypeConverter(typeof(LossyConverter))]
    public readonly record struct Lossy(int Kept, int Lost);

    private sealed class LossyConverter : System.ComponentModel.TypeConverter
    {
        public override bool CanConvertFrom(System.ComponentModel.ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string);

        public override bool CanConvertTo(System.ComponentModel.ITypeDescriptorContext? context, Type? destinationType) => destinationType == typeof(string);

        public override object? ConvertFrom(System.ComponentModel.ITypeDescriptorContext? context, System.Globalization.CultureInfo? culture, object value) =>
            new Lossy(int.Parse((string)value, System.Globalization.CultureInfo.InvariantCulture), 0);

        public override object? ConvertTo(System.ComponentModel.ITypeDescriptorContext? context, System.Globalization.CultureInfo? culture, object? value, Type destinationType) =>
            ((Lossy)value!).Kept.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    [TestCaseSource(nameof(Unsupported))]
    public void An_unsupported_value_is_refused_with_its_type_and_parameter_named(object value)
    {
        Assert.That(HelixReplaySerializer.CanStore(value), Is.False);
        var e = Assert.Throws<NotSupportedException>(() => HelixReplaySerializer.Serialize(Entry(new SqliteParameter("@bad", SqliteType.Text) { Value = value })));
        Assert.That(e!.Message, Does.Contain("'@bad'").And.Contain(value.GetType().FullName!));
    }

    [Test]
    public void Other_data_or_versions_are_refused()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => HelixReplaySerializer.Deserialize(new byte[] { 1, 2, 3, 4 }, _ => SqliteFactory.Instance), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("not a Helix replay entry"));
            Assert.That(() => HelixReplaySerializer.Deserialize("HXR\u0009"u8.ToArray(), _ => SqliteFactory.Instance), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("version 9"));
        });
    }
}
