using System.Data.Common;

namespace Helix.Data.Replay;

/// <summary>
/// An estimate of the memory a replay entry holds on the heap: the entry, its statements, their texts, parameter objects
/// (the providers' own, whose size is taken as a typical one) and values. It errs on the large side: a statement text
/// that many entries share (a literal in the application) is counted in each.
/// </summary>
internal static class ReplayEntrySize
{
    // Object sizes on a 64-bit runtime, from the fields each type holds; a provider's parameter is taken as 200 bytes
    // (NpgsqlParameter is about that, SqliteParameter less).
    private const int EntryBytes = 112;
    private const int StatementBytes = 64;
    private const int ParameterBytes = 200;
    private const int ListBytes = 40;
    private const int BoxBytes = 24;

    // Indexed loops: a foreach over the interfaces would allocate an enumerator on every enqueue.
    public static long Estimate(HelixReplayEntry entry)
    {
        var statements = entry.Statements;
        long bytes = EntryBytes + ListBytes + (8L * statements.Count) + StringBytes(entry.Error);
        for (var i = 0; i < statements.Count; i++)
        {
            var parameters = statements[i].Parameters;
            bytes += StatementBytes + StringBytes(statements[i].CommandText) + ListBytes + (8L * parameters.Count);
            for (var j = 0; j < parameters.Count; j++)
            {
                bytes += ParameterBytes + StringBytes(parameters[j].ParameterName) + ValueBytes(parameters[j]);
            }
        }

        return bytes;
    }

    private static long StringBytes(string? text) => text is null ? 0 : 22 + (2L * text.Length);

    private static long ValueBytes(DbParameter parameter) => parameter.Value switch
    {
        null or DBNull => 0,
        string text => StringBytes(text),
        byte[] bytes => 24 + bytes.Length,
        char[] chars => 24 + (2L * chars.Length),
        Array array => 24 + ArrayBytes(array),
        decimal or Guid or DateTimeOffset => BoxBytes + 8,
        _ => BoxBytes,
    };

    private static long ArrayBytes(Array array)
    {
        long bytes = 0;
        foreach (var item in array)
        {
            bytes += item switch
            {
                string text => 8 + StringBytes(text),
                null => 8,
                _ => 16,
            };
        }

        return bytes;
    }
}
