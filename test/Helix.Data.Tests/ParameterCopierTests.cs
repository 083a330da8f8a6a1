using System.Data;
using System.Data.Common;
using Helix.Data.Internal;
using Microsoft.Data.Sqlite;

namespace Helix.Data.Tests;

/// <summary>
/// The copies a strand gets of the caller's parameters (contract section 4): what the caller set travels, what the
/// provider would infer is left to it. The reflective reading of settings (<see cref="ParameterCopier.ExplicitSettings"/>,
/// which replay stores) is the reference the copier's direct reads are held to.
/// </summary>
public class ParameterCopierTests
{
    private static IEnumerable<TestCaseData> Sources()
    {
        yield return new TestCaseData(new SqliteParameter("@a", "text")).SetName("Sqlite, nothing set");
        yield return new TestCaseData(new SqliteParameter("@a", 42)
        {
            DbType = DbType.String, IsNullable = true, Precision = 9, Scale = 3, Size = 12, SourceColumn = "col",
            SourceColumnNullMapping = true, SourceVersion = DataRowVersion.Original,
        }).SetName("Sqlite, every DbParameter setting");
        yield return new TestCaseData(new SqliteParameter("@a", Guid.Empty) { SqliteType = SqliteType.Blob }).SetName("Sqlite, SqliteType");
        yield return new TestCaseData(new SqliteParameter("@a", new[] { 1, 2 })).SetName("Sqlite, a value whose DbType getter throws");
        yield return new TestCaseData(new HelixParameter("@a", 42) { DbType = DbType.Int16, Size = 2, SourceColumn = "col" }).SetName("neutral, settings");
        yield return new TestCaseData(new HelixParameter("@a", "x")).SetName("neutral, nothing set");
    }

    // SqliteParameter ignores Precision, Scale and SourceVersion: a parameter type that keeps every setting shows them.
    private static IEnumerable<TestCaseData> StoringSources()
    {
        yield return new TestCaseData(new StoringParameter { ParameterName = "@a", Value = 42 }, 0).SetName("storing, nothing set");
        yield return new TestCaseData(new StoringParameter
        {
            ParameterName = "@a", Value = 42, DbType = DbType.Int16, IsNullable = true, Precision = 9, Scale = 3, Size = 2,
            SourceColumn = "col", SourceColumnNullMapping = true, SourceVersion = DataRowVersion.Original, Tag = 7,
        }, 9).SetName("storing, every setting and its own");
        yield return new TestCaseData(new StoringParameter { ParameterName = "@a", Value = new[] { 1 }, Size = 5, Tag = 7 }, 2)
            .SetName("storing, a value whose DbType getter throws");
        yield return new TestCaseData(new HelixParameter("@a", 42)
        {
            DbType = DbType.Int16, IsNullable = true, Precision = 9, Scale = 3, Size = 2, SourceColumn = "col",
            SourceColumnNullMapping = true, SourceVersion = DataRowVersion.Original,
        }, 8).SetName("neutral to storing, every setting");
    }

    /// <summary>The settings the parameter's maker set, by name, as replay reads them.</summary>
    private static Dictionary<string, object?> SetIn(DbParameter parameter, bool providerSettings) =>
        ParameterCopier.ExplicitSettings(parameter, providerSettings).ToDictionary(s => s.Property.Name, s => s.Value);

    [TestCaseSource(nameof(StoringSources))]
    public void A_copy_holds_every_setting_the_caller_set(DbParameter source, int settings)
    {
        var copy = ParameterCopier.CopyFor(source, StoringFactory.Instance, ownValue: false);
        var providerSettings = source is StoringParameter;
        var set = SetIn(source, providerSettings);
        var copied = SetIn(copy, providerSettings);
        Assert.Multiple(() =>
        {
            Assert.That(copy, Is.InstanceOf<StoringParameter>().And.Not.SameAs(source));
            Assert.That(copied, Is.EquivalentTo(set));
            Assert.That(set, Has.Count.EqualTo(settings));
        });
    }

    [TestCaseSource(nameof(Sources))]
    public void A_copy_holds_what_the_caller_set_and_infers_the_rest(DbParameter source)
    {
        var copy = ParameterCopier.CopyFor(source, SqliteFactory.Instance, ownValue: false);
        var fresh = new SqliteParameter { Value = source.Value };
        var providerSettings = source is SqliteParameter;
        var set = SetIn(source, providerSettings);
        var copied = SetIn(copy, providerSettings);

        Assert.Multiple(() =>
        {
            Assert.That(copy, Is.InstanceOf<SqliteParameter>().And.Not.SameAs(source));
            Assert.That(copy.ParameterName, Is.EqualTo(source.ParameterName));
            Assert.That(copy.Value, Is.SameAs(source.Value));
            Assert.That(copied, Is.EquivalentTo(set), "the copy reports as set exactly what the caller set");
            foreach (var property in typeof(DbParameter).GetProperties().Where(p => p.CanWrite && p.Name is not (nameof(DbParameter.Value) or nameof(DbParameter.ParameterName)) && !set.ContainsKey(p.Name)))
            {
                Assert.That(Read(property, copy), Is.EqualTo(Read(property, fresh)), $"{property.Name} is left to the provider");
            }
        });

        static object? Read(System.Reflection.PropertyInfo property, DbParameter parameter)
        {
            try
            {
                return property.GetValue(parameter);
            }
            catch (System.Reflection.TargetInvocationException e)
            {
                return e.InnerException!.GetType();
            }
        }
    }
}

/// <summary>
/// A provider whose parameters keep every setting and infer DbType from the value until it is set (and, as
/// SqliteParameter does, throw for a value they cannot map).
/// </summary>
internal sealed class StoringFactory : DbProviderFactory
{
    public static readonly StoringFactory Instance = new();

    public override DbParameter CreateParameter() => new StoringParameter();
}

internal sealed class StoringParameter : DbParameter
{
    private DbType? _dbType;

    public override DbType DbType
    {
        get => _dbType ?? Value switch
        {
            int => DbType.Int32,
            Array => throw new InvalidOperationException("No DbType for an array."),
            _ => DbType.String,
        };
        set => _dbType = value;
    }

    public int Tag { get; set; }

    public override ParameterDirection Direction { get; set; } = ParameterDirection.Input;

    public override bool IsNullable { get; set; }

    [System.Diagnostics.CodeAnalysis.AllowNull]
    public override string ParameterName { get; set; } = string.Empty;

    public override byte Precision { get; set; }

    public override byte Scale { get; set; }

    public override int Size { get; set; }

    [System.Diagnostics.CodeAnalysis.AllowNull]
    public override string SourceColumn { get; set; } = string.Empty;

    public override bool SourceColumnNullMapping { get; set; }

    public override DataRowVersion SourceVersion { get; set; } = DataRowVersion.Current;

    public override object? Value { get; set; }

    public override void ResetDbType() => _dbType = null;
}
