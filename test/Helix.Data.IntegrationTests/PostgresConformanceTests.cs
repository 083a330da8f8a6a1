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
    public void Helix_behaves_like_the_plain_provider(string check)
    {
        var plain = AdoNetChecks.Run(check, Plain);
        var helix = AdoNetChecks.Run(check, Helix);
        if (KnownDifferences.TryGetValue(check, out var reason))
        {
            Assert.That(helix, Is.Not.EqualTo(plain), $"listed as a known difference ({reason}) but now behaves the same: remove it here and from docs/compatibility.md");
        }
        else
        {
            Assert.That(helix, Is.EqualTo(plain), $"plain: {plain}; Helix: {helix}");
        }
    }

    [Test]
    public void Report()
    {
        var report = AdoNetChecks.Report(Plain, Helix, KnownDifferences);
        TestContext.Out.WriteLine(report);
        if (Environment.GetEnvironmentVariable("HELIX_CONFORMANCE_REPORT") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, strands == Strands.Two ? "postgresql.md" : "postgresql-single-strand.md"), report);
        }

        Assert.That(report, Does.Not.Contain("**DIFFERENT**"));
    }
}
