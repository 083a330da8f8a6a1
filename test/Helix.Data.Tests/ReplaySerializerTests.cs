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

    private static readonly object[] Unsupported = [new object(), new Uri("http://x"), new int[2, 2], new List<int> { 1 }, new System.Net.IPAddress(1), new object[] { new object() }];

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
