using System.Collections;
using System.Data.Common;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// Compares what a write returned on the strands (contract section 5, amendments 34 and 35): the rows it affected, the
/// value of <c>ExecuteScalar</c>, the output parameters of <c>ExecuteNonQuery</c> and <c>ExecuteScalar</c> (a
/// procedure's <c>OUT</c> key, SQL Server's <c>SET @id = SCOPE_IDENTITY()</c>), and the first rows of a reader
/// (<c>INSERT ... RETURNING id</c>) that the caller read. A value each database generated for itself (a serial or
/// identity key, a default of <c>now()</c>, a trigger, a sequence moved on one strand only) differs, and the rows the
/// strands keep differ with it; the application, which goes on with the primary's key, would then update another row on
/// the other strand. Reported as a divergence; the write stands.
/// </summary>
internal static class ReturnedValues
{
    /// <summary>How many rows of a write's reader are compared at most: what a write returns is most often one row.</summary>
    public const int MaxRows = 64;

    /// <summary>
    /// Compares what a write that returns no reader reported on the strand the caller got its result from
    /// (<paramref name="callers"/>) and on another strand that applied it too: the rows <c>ExecuteNonQuery</c> affected
    /// (<paramref name="otherRows"/> the other's), in all and by each command of a batch, the value of
    /// <c>ExecuteScalar</c>, then the output parameters. One report at most.
    /// </summary>
    public static void Compare(in Execution execution, in StrandResult callers, in StrandResult other, int otherRows)
    {
        var (reporter, text, guarded) = (execution.DataSource.Reporter, execution.Statement.CommandText, IsGuarded(in execution));
        if (execution.Operation == Operation.NonQuery && otherRows != (int)callers.Value!)
        {
            if (!guarded)
            {
                reporter.RowsAffectedDiffer(other.Strand, text, (int)callers.Value!, otherRows);
            }
        }
        else if (FirstDifference(callers.BatchCounts, other.BatchCounts) is var command and >= 0)
        {
            // equal totals of a batch, different counts of its commands: one changed a row the other strand lacks, another the reverse
            if (!guarded)
            {
                reporter.RowsAffectedDiffer(other.Strand, text, callers.BatchCounts![command], other.BatchCounts![command], $" (command {command + 1} of the batch)");
            }
        }
        else if (execution.Operation == Operation.Scalar && !StructuralComparisons.StructuralEqualityComparer.Equals(callers.Value, other.Value))
        {
            if (!guarded || (IsValue(callers.Value) && IsValue(other.Value)))
            {
                reporter.ReturnedValuesDiffer(other.Strand, text, "the value of ExecuteScalar");
            }
        }
        else
        {
            CompareOutputs(in execution, other.Strand, callers.Outputs, other.Outputs);
        }
    }

    /// <summary>
    /// Whether the write names <c>helix_ts</c>: the last-write-wins idiom (docs/replay.md) changes a row only where no
    /// newer write reached it first, so two writes racing on one row may each change it on one strand and nothing on the
    /// other; the strands still agree. How many rows such a write changed, or whether it returned one, is not compared
    /// (contract amendment 39); the values of rows both strands returned are.
    /// </summary>
    private static bool IsGuarded(in Execution execution) => execution.Text.TimestampParameter is not null;

    private static bool IsValue(object? value) => value is not null and not DBNull;

    private static int FirstDifference(int[]? callers, int[]? others)
    {
        for (var i = 0; callers is not null && others is not null && i < Math.Min(callers.Length, others.Length); i++)
        {
            if (callers[i] != others[i])
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// What compares a write's reader, once the caller closes it, with the other strand's drained one: the rows each
    /// reported affected, then the rows the caller read (<see cref="CompareRows"/>).
    /// </summary>
    public static Action<DbDataReader> CompareOnClose(Execution execution, Strand other, WritePath.Settled settled) => reader =>
    {
        if (reader.RecordsAffected != settled.Rows)
        {
            if (!IsGuarded(in execution))
            {
                execution.DataSource.Reporter.RowsAffectedDiffer(other, execution.Statement.CommandText, reader.RecordsAffected, settled.Rows);
            }

            return;
        }

        CompareRows(in execution, other, reader, settled.Returned!);
    };

    /// <summary>
    /// Reports a divergence when an output parameter the strands set (by parameter index) differs; the caller's parameters
    /// hold the values of the strand it got its result from.
    /// </summary>
    private static void CompareOutputs(in Execution execution, Strand other, (int Index, object? Value)[]? callers, (int Index, object? Value)[]? others)
    {
        if (callers is null || others is null)
        {
            return;
        }

        for (var i = 0; i < Math.Min(callers.Length, others.Length); i++)
        {
            if (callers[i].Index == others[i].Index && !StructuralComparisons.StructuralEqualityComparer.Equals(callers[i].Value, others[i].Value))
            {
                execution.DataSource.Reporter.ReturnedValuesDiffer(other, execution.Statement.CommandText, $"output parameter {callers[i].Index + 1}");
                return;
            }
        }
    }

    /// <summary>
    /// Reports a divergence when a row the caller read of its reader (a <see cref="HelixDataReader"/> that recorded them)
    /// differs from the other strand's row at the same place (the same result set, the same row in it); rows one side
    /// did not read are not compared.
    /// </summary>
    private static void CompareRows(in Execution execution, Strand other, DbDataReader callers, ReturnedRows others)
    {
        if (callers is not HelixDataReader { RecordedRows: { } read })
        {
            return; // another layer's reader (EF Core's), or one read in sequential access
        }

        foreach (var row in read.Rows)
        {
            if (others.At(row.Result, row.Index) is { } theirs && !StructuralComparisons.StructuralEqualityComparer.Equals(row.Values, theirs))
            {
                var where = row.Result == 0 ? string.Empty : $" of result set {row.Result + 1}";
                execution.DataSource.Reporter.ReturnedValuesDiffer(other, execution.Statement.CommandText, $"row {row.Index + 1}{where} of the rows it returned");
                return;
            }
        }
    }
}
