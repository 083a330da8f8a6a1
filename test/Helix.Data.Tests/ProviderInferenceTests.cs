using Dapper;
using Helix.Data.Internal;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>The bare form <c>Helix;Primary=...;Secondary=...</c>: the provider inferred, or refused with the candidates named.</summary>
public class ProviderInferenceTests
{
    private static readonly string[] Everything = ["Npgsql", "Microsoft.Data.Sqlite", "Microsoft.Data.SqlClient", "MySqlConnector"];

    [TestCase("Host=pg-a;Database=app", "Npgsql")]
    [TestCase("Server=pg-a;Port=5432;Database=app", "Npgsql")]
    [TestCase("Host=pg-a,pg-b;Target Session Attributes=read-write", "Npgsql")]
    [TestCase("Data Source=app.db", "Microsoft.Data.Sqlite")]
    [TestCase("Data Source=/var/lib/app/orders.sqlite3;Mode=ReadWriteCreate", "Microsoft.Data.Sqlite")]
    [TestCase("Data Source=:memory:", "Microsoft.Data.Sqlite")]
    [TestCase("Data Source=file:orders?mode=memory;Cache=Shared", "Microsoft.Data.Sqlite")]
    [TestCase("Server=sql-a;Initial Catalog=app;Encrypt=true", "Microsoft.Data.SqlClient")]
    [TestCase("Data Source=sql-a;Integrated Security=true", "Microsoft.Data.SqlClient")]
    [TestCase("Server=sql-a;Database=app;Trusted_Connection=True", "Microsoft.Data.SqlClient")]
    [TestCase("Server=my-a;Uid=app;Pwd=secret", "MySqlConnector")]
    [TestCase("Server=my-a;Port=3306;Database=app", "MySqlConnector")]
    [TestCase("Server=my-a;Database=app;SslMode=Required", "MySqlConnector")]
    [TestCase("Host=my-a;Port=3306;Database=app", "MySqlConnector")]
    [TestCase("Server=127.0.0.1;Port=23306;User ID=root;Default Command Timeout=10;Database=app", "MySqlConnector")]
    public void The_provider_is_inferred_from_the_strand_s_keys(string inner, string expected) =>
        Assert.That(ProviderInference.Infer(inner, [], Everything, "Primary"), Is.EqualTo(expected));

    [Test]
    public void Shared_keys_count_too() =>
        Assert.That(ProviderInference.Infer("Server=a;Database=app", ["Uid"], Everything, "Primary"), Is.EqualTo("MySqlConnector"));

    [Test]
    public void The_only_known_provider_the_application_can_use_is_taken_whatever_the_keys_say() =>
        Assert.That(ProviderInference.Infer("Server=a;Database=app", [], ["Npgsql", "Some.Custom.Provider"], "Primary"), Is.EqualTo("Npgsql"));

    [TestCase("Server=a;Database=app")]
    [TestCase("Data Source=server-a")]
    public void A_string_that_fits_no_provider_is_refused_naming_the_Provider_key(string inner)
    {
        var e = Assert.Throws<ArgumentException>(() => ProviderInference.Infer(inner, [], Everything, "Secondary"));
        Assert.Multiple(() =>
        {
            Assert.That(e!.ParamName, Is.EqualTo("Provider"));
            Assert.That(e.Message, Does.Contain("secondary strand").And.Contain("Add 'Provider='").And.Contain("available here: Npgsql"));
        });
    }

    [Test]
    public void A_string_with_keys_of_two_providers_is_refused_naming_both()
    {
        var e = Assert.Throws<ArgumentException>(() => ProviderInference.Infer("Server=a;Initial Catalog=app;Uid=app;Pwd=secret", [], Everything, "Primary"));
        Assert.Multiple(() =>
        {
            Assert.That(e!.Message, Does.Contain("Microsoft.Data.SqlClient or MySqlConnector"));
            Assert.That(e.Message, Does.Not.Contain("secret"), "no secret in the message");
        });
    }

    [Test]
    public void Keys_of_a_provider_the_application_does_not_reference_are_refused_saying_which_package_to_add()
    {
        var e = Assert.Throws<ArgumentException>(() => ProviderInference.Infer("Server=a;Uid=app", [], ["Npgsql", "Microsoft.Data.Sqlite"], "Primary"));
        Assert.Multiple(() =>
        {
            Assert.That(e!.ParamName, Is.EqualTo("Primary"));
            Assert.That(e.Message, Does.Contain("keys of MySqlConnector").And.Contain("Reference the MySqlConnector package"));
        });
    }

    [Test]
    public async Task The_bare_form_builds_a_working_data_source()
    {
        using var files = new SqliteStrands("bare-form");
        await using var dataSource = HelixDataSource.Create($"Helix;Primary=\"Data Source={files.PrimaryPath}\";Secondary=\"Data Source={files.SecondaryPath}\"");
        await using var connection = await dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("CREATE TABLE t (id TEXT PRIMARY KEY)");
        await connection.ExecuteAsync("INSERT INTO t VALUES ('a')");
        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Primary, "SELECT id FROM t"), Is.EqualTo(new[] { "a" }));
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT id FROM t"), Is.EqualTo(new[] { "a" }));
            Assert.That(dataSource.Strands.Select(s => s.ProviderName), Is.All.EqualTo("Microsoft.Data.Sqlite"));
        });
    }
}
