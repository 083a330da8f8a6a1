using System.Collections.Concurrent;
using System.Data;
using Dapper;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>
/// Contract amendment 34: a write whose strands return different values (a key each database generated, here SQLite's
/// rowid after the strands' tables drifted apart by one row) is reported as a divergence, through <c>ExecuteScalar</c>
/// and through the rows the caller reads of <c>INSERT ... RETURNING</c>, outside and inside a transaction.
/// </summary>
public class ReturnedValuesTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Insert = "INSERT INTO t (name) VALUES (@name) RETURNING id";

    [Test]
    public async Task A_generated_key_that_differs_is_reported_from_ExecuteScalar_and_from_a_reader_in_and_out_of_a_transaction()
    {
        using var files = DriftedFiles();
        var divergences = new ConcurrentQueue<HelixDivergence>();
        await using var dataSource = new HelixDataSourceBuilder(files.ConnectionString()).OnDivergence(divergences.Enqueue).Build();
        await using var connection = await OpenAsync(dataSource);

        var scalar = await ExecuteScalarAsync(connection, Insert, ("name", "scalar"));
        var (read, _) = await QueryAsync(connection, Insert, ("name", "reader"));
        await using (var transaction = IsAsync ? await connection.BeginTransactionAsync() : connection.BeginTransaction())
        {
            _ = await ExecuteScalarAsync(connection, Insert, ("name", "scalar in a transaction"));
            _ = await QueryAsync(connection, Insert, ("name", "reader in a transaction"));
            await CommitAsync(transaction);
        }

        var reported = divergences.ToList();
        Assert.Multiple(() =>
        {
            Assert.That(scalar, Is.EqualTo(1L), "the caller gets the primary's key");
            Assert.That(read, Is.EqualTo(new object[] { 2L }));
            Assert.That(reported.Select(d => (d.Kind, d.Strand)), Is.EqualTo(Enumerable.Repeat((HelixDivergenceKind.ReturnedValuesDiffer, HelixStrand.Secondary), 4)));
            Assert.That(reported[0].Message, Does.Contain("ExecuteScalar").And.Contain("serial or identity key"));
            Assert.That(reported[1].Message, Does.Contain("row 1"));
            Assert.That(reported.Select(d => d.CommandText), Is.All.EqualTo(Insert));
            Assert.That(dataSource.GetStatus().Divergences, Is.EqualTo(4));
        });
    }

    [Test]
    public async Task Values_the_application_gave_are_equal_and_nothing_is_reported()
    {
        using var files = DriftedFiles();
        var divergences = new ConcurrentQueue<HelixDivergence>();
        await using var dataSource = new HelixDataSourceBuilder(files.ConnectionString()).OnDivergence(divergences.Enqueue).Build();
        await using var connection = await OpenAsync(dataSource);
        const string Keyed = "INSERT INTO t (id, name) VALUES (@id, @name) RETURNING id, name";

        _ = await ExecuteScalarAsync(connection, Keyed, ("id", 10), ("name", "given"));
        var row = IsAsync
            ? await connection.QuerySingleAsync<(long Id, string Name)>(Keyed, new { id = 11, name = "given too" })
            : connection.QuerySingle<(long Id, string Name)>(Keyed, new { id = 11, name = "given too" });
        Assert.Multiple(() =>
        {
            Assert.That(row, Is.EqualTo((11L, "given too")));
            Assert.That(divergences, Is.Empty);
        });
    }

    [Test]
    public async Task Dapper_s_QuerySingle_of_a_generated_key_is_compared_as_a_reader_read_in_sequential_access_and_one_left_unread_is_not()
    {
        using var files = DriftedFiles();
        var divergences = new ConcurrentQueue<HelixDivergence>();
        await using var dataSource = new HelixDataSourceBuilder(files.ConnectionString()).OnDivergence(divergences.Enqueue).Build();
        await using var connection = await OpenAsync(dataSource);

        var id = IsAsync ? await connection.QuerySingleAsync<long>(Insert, new { name = "dapper" }) : connection.QuerySingle<long>(Insert, new { name = "dapper" });
        Assert.That(divergences.Select(d => d.Kind).ToList(), Is.EqualTo(new[] { HelixDivergenceKind.ReturnedValuesDiffer }), "Dapper read the key (in sequential access)");

        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "INSERT INTO t (name) VALUES ('unread') RETURNING id";
            await using var unread = IsAsync ? await command.ExecuteReaderAsync() : command.ExecuteReader();
        }

        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "INSERT INTO t (name) VALUES ('sequential') RETURNING id";
            await using var sequential = IsAsync ? await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess) : command.ExecuteReader(CommandBehavior.SequentialAccess);
            Assert.That(sequential.Read(), Is.True);
            Assert.That(sequential.GetInt64(0), Is.EqualTo(3L));
        }

        Assert.Multiple(() =>
        {
            Assert.That(id, Is.EqualTo(1L));
            Assert.That(divergences, Has.Count.EqualTo(2), "the sequential reader's row was compared; the unread one's was not");
        });
    }

    [Test]
    public async Task Rows_are_compared_by_their_place_in_their_own_result_set_so_rows_the_caller_skipped_before_NextResult_shift_nothing()
    {
        using var files = new SqliteStrands("returned-values-results");
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
        var divergences = new ConcurrentQueue<HelixDivergence>();
        await using var dataSource = new HelixDataSourceBuilder(files.ConnectionString()).OnDivergence(divergences.Enqueue).Build();
        await using var connection = await OpenAsync(dataSource);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO t (id, name) VALUES (10, 'a'), (11, 'b'), (12, 'c') RETURNING id; SELECT 'done', 2";

        var read = new List<object>();
        await using (var reader = IsAsync ? await command.ExecuteReaderAsync() : command.ExecuteReader())
        {
            Assert.That(IsAsync ? await reader.ReadAsync() : reader.Read(), Is.True);
            read.Add(reader.GetValue(0)); // the first key only; the rest of the first result is skipped
            Assert.That(IsAsync ? await reader.NextResultAsync() : reader.NextResult(), Is.True);
            Assert.That(IsAsync ? await reader.ReadAsync() : reader.Read(), Is.True);
            read.Add(reader.GetValue(0));
        }

        Assert.Multiple(() =>
        {
            Assert.That(read, Is.EqualTo(new object[] { 10L, "done" }));
            Assert.That(divergences, Is.Empty, "the strands returned the same rows; the second result's row is not the first result's second row");
        });
    }

    /// <summary>Two files whose tables of generated keys are one row apart: the secondary has a row the primary lacks.</summary>
    private static SqliteStrands DriftedFiles()
    {
        var files = new SqliteStrands("returned-values");
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
        files.Execute(HelixStrand.Secondary, "INSERT INTO t (name) VALUES ('only on the secondary')");
        return files;
    }

    private async Task CommitAsync(System.Data.Common.DbTransaction transaction)
    {
        if (IsAsync)
        {
            await transaction.CommitAsync();
        }
        else
        {
            transaction.Commit();
        }
    }
}
