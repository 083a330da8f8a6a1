using System.Data.Common;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// The first rows (up to <see cref="ReturnedValues.MaxRows"/>) read of a write's reader, each with its place: its result
/// set and its index there, so that rows one side skipped (a result set left before its end) do not shift the others.
/// </summary>
internal sealed class ReturnedRows
{
    private readonly List<(int Result, int Index, object[] Values)> _rows = [];
    private int _result;
    private int _index;

    /// <summary>Gets the rows kept, in the order read.</summary>
    public IReadOnlyList<(int Result, int Index, object[] Values)> Rows => _rows;

    /// <summary>Keeps the reader's current row, while fewer than <see cref="ReturnedValues.MaxRows"/> are kept.</summary>
    public void Read(DbDataReader reader)
    {
        if (_rows.Count < ReturnedValues.MaxRows)
        {
            var values = new object[reader.FieldCount];
            reader.GetValues(values);
            _rows.Add((_result, _index, values));
        }

        _index++;
    }

    /// <summary>Notes that the reader moved to its next result set.</summary>
    public void NextResult() => (_result, _index) = (_result + 1, 0);

    /// <summary>Gets the values of the row kept at a place, or <see langword="null"/> when none was.</summary>
    public object[]? At(int result, int index)
    {
        foreach (var row in _rows)
        {
            if (row.Result == result && row.Index == index)
            {
                return row.Values;
            }
        }

        return null;
    }
}
