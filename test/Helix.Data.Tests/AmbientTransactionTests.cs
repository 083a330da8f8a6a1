using System.Data.Common;
using System.Transactions;
using Dapper;
using Helix.Data.Internal;
using Helix.Data.Tests.Support;
using Microsoft.Data.SqlClient;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Helix.Data.Tests;

/// <summary>
/// Which strands enlist in an ambient System.Transactions transaction, and writes in a <see cref="TransactionScope"/>
/// over strands that do not (SQLite): run as the provider runs them. Over strands that do, Helix runs the scope as one
/// Helix transaction (PostgreSQL: the integration tests' <c>PostgresAmbientTransactionTests</c>).
/// </summary>
public class AmbientTransactionTests
{
    private static IEnumerable<TestCaseData> Connections()
    {
        yield return new TestCaseData(new SqliteConnection(), "Data Source=a.db", false).SetName("SQLite ignores ambient transactions");
        yield return new TestCaseData(new NpgsqlConnection(), "Host=h;Username=u", true).SetName("Npgsql enlists by default");
        yield return new TestCaseData(new NpgsqlConnection(), "Host=h;Username=u;Enlist=false", false).SetName("Npgsql with Enlist=false");
        yield return new TestCaseData(new NpgsqlConnection(), "Host=h;Username=u;enlist=False", false).SetName("Npgsql with enlist=False, keywords in any case");
        yield return new TestCaseData(new SqlConnection(), "Server=s", true).SetName("SqlClient enlists by default");
        yield return new TestCaseData(new SqlConnection(), "Server=s;Enlist=false", false).SetName("SqlClient with Enlist=false");
        yield return new TestCaseData(new SqlConnection(), "Server=s;Enlist=true", true).SetName("SqlClient with Enlist=true");
    }

    [TestCaseSource(nameof(Connections))]
    public void A_strand_enlists_when_its_provider_takes_part_and_its_string_does_not_turn_it_off(DbConnection connection, string connectionString, bool enlists)
    {
        using (connection)
        {
            Assert.That(AmbientTransactions.Enlist(connection, connectionString), Is.EqualTo(enlists));
        }
    }

    [Test]
    public async Task Over_SQLite_strands_a_write_in_a_scope_runs_as_SQLite_runs_it_outside_the_scope()
    {
        using var files = new SqliteStrands("ambient");
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        using (new TransactionScope(TransactionScopeAsyncFlowOption.Enabled))
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await connection.ExecuteAsync("INSERT INTO t VALUES (1)"); // the scope is not completed; SQLite does not enlist
        }

        using (var scope = new TransactionScope(TransactionScopeAsyncFlowOption.Enabled))
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            scope.Complete();
            await connection.ExecuteAsync("INSERT INTO t VALUES (2)"); // after Complete, where Transaction.Current throws
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT id FROM t ORDER BY id"), Is.EqualTo(new[] { "1", "2" }));
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT id FROM t ORDER BY id"), Is.EqualTo(new[] { "1", "2" }));
        });
    }

    [Test]
    public async Task Over_SQLite_strands_EnlistTransaction_is_refused_as_SQLite_refuses_it()
    {
        using var files = new SqliteStrands("enlist");
        await using var dataSource = HelixDataSource.Create(files.ConnectionString());
        await using var connection = await dataSource.OpenConnectionAsync();
        using var scope = new TransactionScope(TransactionScopeAsyncFlowOption.Enabled);
        connection.EnlistTransaction(null); // nothing to enlist in
        var refused = Assert.Throws<NotSupportedException>(() => connection.EnlistTransaction(Transaction.Current));
        Assert.That(refused!.Message, Does.Contain("SQLite").And.Contain("BeginTransaction"));
    }
}
