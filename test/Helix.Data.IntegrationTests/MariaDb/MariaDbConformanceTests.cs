using Helix.Data.Conformance;
using MySqlConnector;

namespace Helix.Data.IntegrationTests.MariaDb;

/// <summary>
/// The conformance comparison on MariaDB: every ADO.NET behaviour check runs against MySqlConnector and against
/// Helix.Data wrapping it, with two strands and in single-strand mode. A difference fails the test unless it is listed
/// here and in docs/compatibility.md, and a listed difference that has gone away fails too.
/// </summary>
[TestFixture(Strands.Two)]
[TestFixture(Strands.One)]
public class MariaDbConformanceTests(Strands strands) : MariaDbTestBase
{
    /// <summary>The differences that remain, with the reason; docs/compatibility.md explains each.</summary>
    public static readonly IReadOnlyDictionary<string, string> KnownDifferences = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["provider: factory and connection type names"] = "by design: Helix is its own provider",
        ["connection: StateChange events"] = "MySqlConnector passes through Connecting; Helix goes from Closed to Open, as Npgsql and SQLite do",
        ["transaction: savepoint rollback"] = "MySqlConnector reports SupportsSavepoints=False yet runs them; Helix keeps savepoints on every strand and says True",
        ["connection: open with an empty connection string"] = "Helix cannot know the provider without a connection string: InvalidOperationException, as Npgsql",
        ["provider: the factory's parameter"] = "HelixProviderFactory.CreateParameter cannot know the strands' provider: a generic parameter (DbType Object)",
    };

    private static IEnumerable<string> Checks => AdoNetChecks.All.Keys;

    private ConformanceTarget Plain => new("MySqlConnector", () => new MySqlConnection(MariaDbServers.Primary.ConnectionString(Database)), Dialect.MySql);

    private ConformanceTarget Helix => new(
        $"Helix.Data over MySqlConnector ({(strands == Strands.Two ? "two strands" : "single strand")})",
        () => new HelixConnection(strands == Strands.Two ? HelixConnectionString() : $"Helix;Primary=\"{MariaDbServers.Primary.ConnectionString(Database)}\""),
        Dialect.MySql);

    [TestCaseSource(nameof(Checks))]
    public void Helix_behaves_like_the_plain_provider(string check) =>
        Assert.That(AdoNetChecks.Mismatch(check, Plain, Helix, KnownDifferences), Is.Null);

    [Test]
    public void Report()
    {
        var report = AdoNetChecks.SaveReport(Plain, Helix, KnownDifferences, strands == Strands.Two ? "mariadb.md" : "mariadb-single-strand.md");
        TestContext.Out.WriteLine(report);
        Assert.That(report, Does.Not.Contain("**DIFFERENT**"));
    }
}
