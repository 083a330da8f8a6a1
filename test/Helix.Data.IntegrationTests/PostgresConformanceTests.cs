using Helix.Data.Conformance;
using Helix.Data.IntegrationTests.Support;
using Npgsql;

namespace Helix.Data.IntegrationTests;

/// <summary>
/// The conformance comparison on PostgreSQL: every ADO.NET behaviour check runs against Npgsql and against Helix.Data
/// wrapping it. A difference fails the test unless it is listed here and in docs/compatibility.md, and a listed
/// difference that has gone away fails too.
/// </summary>
public class PostgresConformanceTests : PostgresTestBase
{
    /// <summary>The differences that remain, with the reason; docs/compatibility.md explains each.</summary>
    public static readonly IReadOnlyDictionary<string, string> KnownDifferences = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["provider: factory and connection type names"] = "by design: Helix is its own provider",
    };

    private static IEnumerable<string> Checks => AdoNetChecks.All.Keys;

    private ConformanceTarget Plain => new("Npgsql", () => new NpgsqlConnection(PostgresServers.Primary.ConnectionString(Database)), Dialect.PostgreSql);

    private ConformanceTarget Helix => new("Helix.Data over Npgsql", () => new HelixConnection(HelixConnectionString()), Dialect.PostgreSql);

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
            File.WriteAllText(Path.Combine(folder, "postgresql.md"), report);
        }

        Assert.That(report, Does.Not.Contain("**DIFFERENT**"));
    }
}
