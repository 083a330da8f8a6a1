using Helix.Data.Conformance;
using Helix.Data.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Helix.Data.Tests;

/// <summary>
/// The conformance comparison on SQLite: every ADO.NET behaviour check runs against Microsoft.Data.Sqlite and against
/// Helix.Data wrapping it, with two strands and in single-strand mode. A difference fails the test unless it is listed
/// here and in docs/compatibility.md, and a listed difference that has gone away fails too, so the list stays true.
/// </summary>
[TestFixture(Strands.Two)]
[TestFixture(Strands.One)]
public class SqliteConformanceTests(Strands strands)
{
    /// <summary>The differences that remain, with the reason; docs/compatibility.md explains each.</summary>
    public static readonly IReadOnlyDictionary<string, string> KnownDifferences = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["provider: factory and connection type names"] = "by design: Helix is its own provider",
        ["provider: the factory's parameter"] = "the factory cannot know the provider: its parameter is provider-neutral",
        ["connection: open with an empty connection string"] = "Helix needs at least a Primary strand; SQLite opens a private in-memory database",
        ["transaction: Transaction property of a command created after BeginTransaction"] = "the command runs in the transaction as SQLite's does, but its property reads null until set",
    };

    private SqliteStrands _files = null!;
    private ConformanceTarget _plain = null!;
    private ConformanceTarget _helix = null!;
    private HelixDataSource? _dataSource;

    private static IEnumerable<string> Checks => AdoNetChecks.All.Keys;

    [OneTimeSetUp]
    public void CreateTargets()
    {
        _files = new SqliteStrands("conformance");
        var connectionString = strands == Strands.Two
            ? _files.ConnectionString()
            : $"Helix;Provider=Microsoft.Data.Sqlite;Primary=\"{_files.Inner(HelixStrand.Primary)}\"";
        _plain = new ConformanceTarget("Microsoft.Data.Sqlite", () => new SqliteConnection(_files.Inner(HelixStrand.Primary)), Dialect.Sqlite);
        _helix = new ConformanceTarget($"Helix.Data over Microsoft.Data.Sqlite ({(strands == Strands.Two ? "two strands" : "single strand")})", () => new HelixConnection(connectionString), Dialect.Sqlite);
        using var probe = new HelixConnection(connectionString);
        _dataSource = probe.HelixDataSource;
    }

    [OneTimeTearDown]
    public void Remove()
    {
        _dataSource?.Dispose();
        _files.Dispose();
    }

    [TestCaseSource(nameof(Checks))]
    public void Helix_behaves_like_the_plain_provider(string check) =>
        Assert.That(AdoNetChecks.Mismatch(check, _plain, _helix, KnownDifferences), Is.Null);

    [Test]
    public void Report()
    {
        var report = AdoNetChecks.SaveReport(_plain, _helix, KnownDifferences, strands == Strands.Two ? "sqlite.md" : "sqlite-single-strand.md");
        TestContext.Out.WriteLine(report);
        Assert.That(report, Does.Not.Contain("**DIFFERENT**"));
    }
}
