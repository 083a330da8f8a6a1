using System.Data;
using Dapper;
using Helix.Data.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Helix.Data.Tests;

/// <summary>Contract section 4 (parameters) and section 7 (the helix_ts write timestamp).</summary>
public class ParameterTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    [Test]
    public async Task CreateParameter_hands_out_the_primary_provider_parameter()
    {
        using var files = new SqliteStrands("params");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using var connection = dataSource.CreateConnection();
        await using var command = connection.CreateCommand();
        await using var detached = new HelixCommand();
        Assert.Multiple(() =>
        {
            Assert.That(command.CreateParameter(), Is.InstanceOf<SqliteParameter>());
            Assert.That(detached.CreateParameter(), Is.InstanceOf<HelixParameter>());
        });
    }

    [Test]
    public async Task Provider_specific_settings_reach_both_strands()
    {
        using var files = new SqliteStrands("sqlite-type");
        files.ExecuteOnBoth("CREATE TABLE t (k TEXT, g ANY) STRICT");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using var connection = await OpenAsync(dataSource);
        var id = Guid.CreateVersion7();
        foreach (var (key, type) in new[] { ("typed", (SqliteType?)SqliteType.Blob), ("inferred", null) })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO t VALUES (@k, @g)";
            command.Parameters.Add(new SqliteParameter("@k", key));
            var parameter = (SqliteParameter)command.CreateParameter();
            parameter.ParameterName = "@g";
            parameter.Value = id;
            if (type is { } t)
            {
                parameter.SqliteType = t; // a Guid is TEXT unless told otherwise
            }

            command.Parameters.Add(parameter);
            _ = IsAsync ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();
        }

        const string Types = "SELECT k, typeof(g) FROM t ORDER BY k";
        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, Types), Is.EqualTo(new[] { "inferred|text", "typed|blob" }));
            Assert.That(files.Rows(HelixStrand.Secondary, Types), Is.EqualTo(new[] { "inferred|text", "typed|blob" }));
        });
    }

    [Test]
    public async Task Provider_specific_settings_survive_replay()
    {
        await using var strands = new FaultyStrands();
        strands.Files.ExecuteOnBoth("CREATE TABLE t (g ANY) STRICT");
        strands.Secondary.FailExecutions(FaultPlan.Busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        await using var connection = await OpenAsync(strands.DataSource);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO t VALUES (@g)";
        command.Parameters.Add(new SqliteParameter("@g", Guid.CreateVersion7()) { SqliteType = SqliteType.Blob });
        _ = IsAsync ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT typeof(g) FROM t"), Is.EqualTo(new[] { "blob" }));
    }

    [Test]
    public async Task Neutral_parameters_and_parameter_objects_can_be_reused()
    {
        using var files = new SqliteStrands("neutral");
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER, name TEXT)");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using var connection = await OpenAsync(dataSource);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO t VALUES (@id, @name)";
        var id = (SqliteParameter)command.CreateParameter();
        id.ParameterName = "id";
        command.Parameters.Add(id);
        var name = command.Parameters.AddWithValue("name", "x");
        for (var i = 0; i < 3; i++)
        {
            id.Value = i;
            name.Value = $"n{i}";
            _ = IsAsync ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();
        }

        Assert.That(files.Rows(HelixStrand.Secondary, "SELECT * FROM t ORDER BY id"), Is.EqualTo(new[] { "0|n0", "1|n1", "2|n2" }));
    }

    [Test]
    public async Task The_write_timestamp_is_bound_identically_on_both_strands_and_in_replay()
    {
        var next = 1_000_000L;
        await using var strands = new FaultyStrands(configure: b => b.UseWriteTimestamps(() => next));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY, version INTEGER NOT NULL)");
        await using var connection = await OpenAsync(strands.DataSource);
        const string Upsert = "INSERT INTO t VALUES (@id, @helix_ts) ON CONFLICT (id) DO UPDATE SET version = excluded.version WHERE t.version < excluded.version";
        await ExecuteNonQueryAsync(connection, Upsert, ("id", "a"));
        await ExecuteNonQueryAsync(connection, Upsert, ("id", "b"));

        // The clock stands still: timestamps still increase. Then the secondary misses a write and replays it.
        strands.Secondary.FailExecutions(FaultPlan.Busy, text => text.StartsWith("INSERT", StringComparison.Ordinal));
        next = 2_000_000L;
        await ExecuteNonQueryAsync(connection, Upsert, ("id", "a"));
        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);

        var primary = strands.Files.Rows(HelixStrand.Primary, "SELECT * FROM t ORDER BY id");
        Assert.Multiple(() =>
        {
            Assert.That(primary, Is.EqualTo(new[] { "a|2000000", "b|1000001" }));
            Assert.That(strands.Files.Rows(HelixStrand.Secondary, "SELECT * FROM t ORDER BY id"), Is.EqualTo(primary));
        });
    }

    [Test]
    public async Task A_timestamp_the_caller_binds_is_kept()
    {
        using var files = new SqliteStrands("explicit-ts");
        files.ExecuteOnBoth("CREATE TABLE t (v INTEGER)");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using var connection = await OpenAsync(dataSource);
        await ExecuteNonQueryAsync(connection, "INSERT INTO t VALUES (:helix_ts)", ("helix_ts", 7L));
        Assert.That(files.Rows(HelixStrand.Secondary, "SELECT v FROM t"), Is.EqualTo(new[] { "7" }));
    }

    [Test]
    public async Task Default_timestamps_are_microseconds_from_the_clock()
    {
        var clock = Wait.Clock();
        using var files = new SqliteStrands("clock-ts");
        files.ExecuteOnBoth("CREATE TABLE t (v INTEGER)");
        await using var dataSource = new HelixDataSourceBuilder(files.ConnectionString()).UseTimeProvider(clock).Build();
        await using var connection = await OpenAsync(dataSource);
        await connection.ExecuteAsync("INSERT INTO t VALUES ($helix_ts)");
        var expected = (clock.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
        Assert.That(files.Rows(HelixStrand.Primary, "SELECT v FROM t"), Is.EqualTo(new[] { expected.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
    }

    [Test]
    public void HelixParameter_infers_its_type_until_one_is_set()
    {
        var parameter = new HelixParameter("p", 5L);
        Assert.That(parameter.DbType, Is.EqualTo(DbType.Int64));
        parameter.DbType = DbType.Decimal;
        Assert.That(parameter.DbType, Is.EqualTo(DbType.Decimal));
        parameter.ResetDbType();
        Assert.That(parameter.DbType, Is.EqualTo(DbType.Int64));
    }
}
