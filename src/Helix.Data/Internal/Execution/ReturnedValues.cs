using System.Collections;
using System.Data.Common;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// Compares what a write returned on the strands (contract amendment 34): the value of <c>ExecuteScalar</c>, and the
/// first rows of a reader (<c>INSERT ... RETURNING id</c>) that the caller read. A value each database generated for
/// itself (a serial or identity key, a default of <c>now()</c>, a trigger, a sequence moved on one strand only) differs,
/// and the rows the strands keep differ with it; the application, which goes on with the primary's key, would then
/// update another row on the other strand. Reported as a divergence; the write stands.
/// </summary>
internal static class ReturnedValues
{
    /// <summary>How many rows of a write's reader are compared at most: what a write returns is most often one row.</summary>
    public const int MaxRows = 64;

    /// <summary>Reads the current row of a reader into a new array, for comparison.</summary>
    public static object[] Row(DbDataReader reader)
    {
        var row = new object[reader.FieldCount];
        reader.GetValues(row);
        return row;
    }

    /// <summary>Reports a divergence when the value the caller got and the other strand's differ.</summary>
    public static void CompareScalars(in Execution execution, Strand other, object? callers, object? others)
    {
        if (!StructuralComparisons.StructuralEqualityComparer.Equals(callers, others))
        {
            execution.DataSource.Reporter.ReturnedValuesDiffer(other, execution.Statement.CommandText, "the value of ExecuteScalar");
        }
    }

    /// <summary>
    /// Reports a divergence when a row the caller read of its reader (a <see cref="HelixDataReader"/> that recorded them)
    /// differs from the other strand's row at the same place; rows one side did not read are not compared.
    /// </summary>
    public static void CompareRows(in Execution execution, Strand other, DbDataReader callers, List<object[]> others)
    {
        if (callers is not HelixDataReader { RecordedRows: { } read })
        {
            return; // another layer's reader (EF Core's), or one read in sequential access
        }

        for (var i = 0; i < Math.Min(read.Count, others.Count); i++)
        {
            if (!StructuralComparisons.StructuralEqualityComparer.Equals(read[i], others[i]))
            {
                execution.DataSource.Reporter.ReturnedValuesDiffer(other, execution.Statement.CommandText, $"row {i + 1} of the rows it returned");
                return;
            }
        }
    }
}
