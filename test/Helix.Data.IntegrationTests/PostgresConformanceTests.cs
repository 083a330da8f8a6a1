using Helix.Data.Conformance;
using Helix.Data.IntegrationTests.Support;
using Npgsql;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// The conformance comparison on PostgreSQL: every ADO.NET behaviour check runs against Npgsql and against Helix.Data
/// wrapping it, with two strands and in single-strand mode. A difference fails the test unless it is listed here and in
/// docs/compatibility.md, and a listed difference that has gone away fails too.
/// </summary>
[TestFixture(Strands.Two)]
[TestFixture(Strands.One)]
public class PostgresConformanceTests(Strands strands) : PostgresTestBase
{
    /// <summary>The differences that remain, with the reason; docs/compatibility.md explains each.</summary>
    public static readonly IReadOnlyDictionary<string, string> KnownDifferences = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["provider: factory and connection type names"] = "by design: Helix is its own provider",
        ["command: Transaction of another connection"] = "Helix refuses what Npgsql runs outside any transaction: it must know which transaction a write belongs to",
    };

    private static IEnumerable<string> Checks => AdoNetChecks.All.Keys;

    private ConformanceTarget Plain => new("Npgsql", () => new NpgsqlConnection(PostgresServers.Primary.ConnectionString(Database)), Dialect.PostgreSql);

    private ConformanceTarget Helix => new(
        $"Helix.Data over Npgsql ({(strands == Strands.Two ? "two strands" : "single strand")})",
        () => new HelixConnection(strands == Strands.Two ? HelixConnectionString() : $"Helix;Provider=Npgsql;Primary=\"{PostgresServers.Primary.ConnectionString(Database)}\""),
        Dialect.PostgreSql);

    [TestCaseSource(nameof(Checks))]
    public void Helix_behaves_like_the_plain_provider(string check) =>
        Assert.That(AdoNetChecks.Mismatch(check, Plain, Helix, KnownDifferences), Is.Null);

    [Test]
    public void Report()
    {
        var report = AdoNetChecks.SaveReport(Plain, Helix, KnownDifferences, strands == Strands.Two ? "postgresql.md" : "postgresql-single-strand.md");
        TestContext.Out.WriteLine(report);
        Assert.That(report, Does.Not.Contain("**DIFFERENT**"));
    }
}
