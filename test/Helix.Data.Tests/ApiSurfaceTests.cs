using System.Data.Common;
using System.Reflection;

namespace Helix.Data.Tests;

/// <summary>
/// The wrappers override every asynchronous and newer virtual member of the ADO.NET base classes, so that no async
/// call silently falls back to the base class's synchronous implementation.
/// </summary>
public class ApiSurfaceTests
{
    private static readonly object[] Members =
    [
        new object[] { typeof(HelixConnection), nameof(DbConnection.OpenAsync) },
        new object[] { typeof(HelixConnection), nameof(DbConnection.CloseAsync) },
        new object[] { typeof(HelixConnection), nameof(DbConnection.DisposeAsync) },
        new object[] { typeof(HelixConnection), "BeginDbTransactionAsync" },
        new object[] { typeof(HelixConnection), nameof(DbConnection.EnlistTransaction) },
        new object[] { typeof(HelixConnection), "get_DbProviderFactory" },
        new object[] { typeof(HelixCommand), nameof(DbCommand.ExecuteNonQueryAsync) },
        new object[] { typeof(HelixCommand), nameof(DbCommand.ExecuteScalarAsync) },
        new object[] { typeof(HelixCommand), "ExecuteDbDataReaderAsync" },
        new object[] { typeof(HelixCommand), nameof(DbCommand.PrepareAsync) },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.ReadAsync) },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.NextResultAsync) },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.IsDBNullAsync) },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.GetFieldValueAsync) },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.GetFieldValue) },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.CloseAsync) },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.DisposeAsync) },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.GetStream) },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.GetTextReader) },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.GetSchemaTable) },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.GetSchemaTableAsync) },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.GetColumnSchemaAsync) },
        new object[] { typeof(HelixDataReader), "GetDbDataReader" },
        new object[] { typeof(HelixDataReader), nameof(DbDataReader.GetProviderSpecificValue) },
        new object[] { typeof(HelixDataSource), "DisposeAsyncCore" },
        new object[] { typeof(HelixDataSource), "CreateDbConnection" },
        new object[] { typeof(HelixProviderFactory), nameof(DbProviderFactory.CreateDataSource) },
    ];

    [TestCaseSource(nameof(Members))]
    public void Overrides(Type type, string name)
    {
        var overrides = type.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
            .Where(m => m.Name == name && m.GetBaseDefinition().DeclaringType != type)
            .ToList();
        Assert.That(overrides, Is.Not.Empty, $"{type.Name} must override {name}");
    }

    [Test]
    public void Every_public_type_lives_in_the_Helix_Data_namespaces()
    {
        var types = typeof(HelixConnection).Assembly.GetExportedTypes();
        Assert.That(types.Select(t => t.Namespace).Distinct(), Is.EquivalentTo(new[] { "Helix.Data", "Helix.Data.Replay", "Helix.Data.Strategies" }));
    }

    [Test]
    public void The_reader_exposes_its_column_schema()
    {
        Assert.That(typeof(IDbColumnSchemaGenerator).IsAssignableFrom(typeof(HelixDataReader)), Is.True);
    }
}
