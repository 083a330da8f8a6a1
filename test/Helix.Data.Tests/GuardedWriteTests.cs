using System.Collections.Concurrent;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>
/// Contract amendment 39: the last-write-wins idiom guarded by <c>helix_ts</c> (docs/replay.md) changes a row only
/// where no newer write reached it first. Two writes racing on one row may so change it on one strand and nothing on the
/// other, and the strands agree; that is not a divergence. Here the secondary already holds a newer version of the row.
/// </summary>
public class GuardedWriteTests(SyncOrAsync mode) : SyncOrAsyncTestBase(mode)
{
    private const string Guarded = "INSERT INTO g (id, v, version) VALUES ('a', @v, @helix_ts) "
        + "ON CONFLICT (id) DO UPDATE SET v = excluded.v, version = excluded.version WHERE g.version < excluded.version";

    private static SqliteStrands Files()
    {
        var files = new SqliteStrands("guarded");
        files.ExecuteOnBoth("CREATE TABLE g (id TEXT PRIMARY KEY, v INTEGER NOT NULL, version INTEGER NOT NULL)");
        files.Execute(HelixStrand.Primary, "INSERT INTO g VALUES ('a', 1, 0)");
        files.Execute(HelixStrand.Secondary, $"INSERT INTO g VALUES ('a', 9, {long.MaxValue})"); // a newer write landed here first
        return files;
    }

    [Test]
    public async Task A_guarded_write_that_changes_a_row_on_one_strand_only_is_not_a_divergence_in_and_out_of_a_transaction()
    {
        using var files = Files();
        var divergences = new ConcurrentQueue<HelixDivergence>();
        await using var dataSource = new HelixDataSourceBuilder(files.ConnectionString()).OnDivergence(divergences.Enqueue).Build();
        await using var connection = await OpenAsync(dataSource);

        var changed = await ExecuteNonQueryAsync(connection, Guarded, ("v", 2));
        var scalar = await ExecuteScalarAsync(connection, Guarded + " RETURNING v", ("v", 3));
        var (read, _) = await QueryAsync(connection, Guarded + " RETURNING v", ("v", 4));
        await using (var transaction = IsAsync ? await connection.BeginTransactionAsync() : connection.BeginTransaction())
        {
            await ExecuteNonQueryAsync(connection, Guarded, ("v", 5));
            await QueryAsync(connection, Guarded + " RETURNING v", ("v", 6));
            await CommitAsync(transaction);
        }

        Assert.Multiple(() =>
        {
            Assert.That((changed, scalar, read), Is.EqualTo((1, (object)3L, new List<object> { 4L })), "the primary's results: it took each write");
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT v FROM g"), Is.EqualTo(new[] { "9" }), "the secondary kept its newer row");
            Assert.That(divergences, Is.Empty);
        });
    }

    [Test]
    public async Task The_same_write_with_a_version_of_the_caller_s_own_is_still_compared()
    {
        using var files = Files();
        var divergences = new ConcurrentQueue<HelixDivergence>();
        await using var dataSource = new HelixDataSourceBuilder(files.ConnectionString()).OnDivergence(divergences.Enqueue).Build();
        await using var connection = await OpenAsync(dataSource);

        await ExecuteNonQueryAsync(connection, Guarded.Replace("@helix_ts", "@version", StringComparison.Ordinal), ("v", 2), ("version", 10));
        Assert.That(divergences.Select(d => d.Kind), Is.EqualTo(new[] { HelixDivergenceKind.RowsAffectedDiffer }));
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
