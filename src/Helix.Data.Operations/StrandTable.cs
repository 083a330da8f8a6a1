using System.Data.Common;

namespace Helix.Data.Operations;

/// <summary>A range of keys: after <see cref="After"/> (exclusive; none: from the first), up to <see cref="UpTo"/> (inclusive; none: to the last).</summary>
internal readonly record struct KeyRange(object? After, object? UpTo);

/// <summary>
/// One strand's copy of the table: the queries a comparison asks of it, and what they cost in values sent back. A query
/// that meets a strand fault (SQLite's busy file while the application writes, a lock timeout) is tried again a few
/// times before the comparison gives up: a verify runs beside the application.
/// </summary>
internal sealed class StrandTable(DbConnection connection, string table, string key, string rowHash, string sum, HelixDataSource dataSource)
{
    private long _transferred;

    /// <summary>Gets how many values this strand sent to the client.</summary>
    public long Transferred => Interlocked.Read(ref _transferred);

    /// <summary>The number of rows in the range and the sum of their hashes.</summary>
    public Task<(long Count, string Sum)> ChecksumAsync(KeyRange range, CancellationToken cancellationToken) => RetryingAsync(() => ChecksumOnceAsync(range, cancellationToken), cancellationToken);

    private async Task<(long Count, string Sum)> ChecksumOnceAsync(KeyRange range, CancellationToken cancellationToken)
    {
        await using var command = Command($"SELECT count(*), {sum} FROM {table}{Where(range)}", range);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        Interlocked.Add(ref _transferred, 2);
        return (Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), reader.GetString(1));
    }

    /// <summary>The key of the range's row at <paramref name="offset"/> (0: the first), or <see langword="null"/> past its end.</summary>
    public Task<object?> KeyAtAsync(KeyRange range, long offset, CancellationToken cancellationToken) => RetryingAsync(() => KeyAtOnceAsync(range, offset, cancellationToken), cancellationToken);

    private async Task<object?> KeyAtOnceAsync(KeyRange range, long offset, CancellationToken cancellationToken)
    {
        await using var command = Command($"SELECT {key} FROM {table}{Where(range)} ORDER BY {key} LIMIT 1 OFFSET {offset}", range);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        Interlocked.Increment(ref _transferred);
        return value is null or DBNull ? null : value;
    }

    /// <summary>Each row of the range as its key and its hash.</summary>
    public Task<Dictionary<object, long>> HashesAsync(KeyRange range, CancellationToken cancellationToken) => RetryingAsync(
        async () =>
        {
            await using var command = Command($"SELECT {key}, {rowHash} FROM {table}{Where(range)}", range);
            return await ReadHashesAsync(command, cancellationToken);
        },
        cancellationToken);

    /// <summary>The rows of the given keys, as their keys and hashes (a key the strand does not have is absent).</summary>
    public Task<Dictionary<object, long>> HashesOfAsync(IReadOnlyList<object> keys, CancellationToken cancellationToken) => RetryingAsync(() => HashesOfOnceAsync(keys, cancellationToken), cancellationToken);

    private async Task<Dictionary<object, long>> HashesOfOnceAsync(IReadOnlyList<object> keys, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        var names = new List<string>();
        foreach (var value in keys)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@k" + names.Count;
            parameter.Value = value;
            command.Parameters.Add(parameter);
            names.Add(parameter.ParameterName);
        }

        command.CommandText = $"SELECT {key}, {rowHash} FROM {table} WHERE {key} IN ({string.Join(", ", names)})";
        return await ReadHashesAsync(command, cancellationToken);
    }

    private Task<T> RetryingAsync<T>(Func<Task<T>> query, CancellationToken cancellationToken) => StrandFaults.RetryAsync(dataSource, query, cancellationToken);

    private async Task<Dictionary<object, long>> ReadHashesAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var hashes = new Dictionary<object, long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            hashes[reader.GetValue(0)] = reader.GetInt64(1);
        }

        Interlocked.Add(ref _transferred, 2L * hashes.Count);
        return hashes;
    }

    private string Where(KeyRange range) => (range.After, range.UpTo) switch
    {
        (null, null) => string.Empty,
        (not null, null) => $" WHERE {key} > @after",
        (null, not null) => $" WHERE {key} <= @upTo",
        _ => $" WHERE {key} > @after AND {key} <= @upTo",
    };

    private DbCommand Command(string sql, KeyRange range)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in new[] { ("@after", range.After), ("@upTo", range.UpTo) })
        {
            if (value is not null)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = name;
                parameter.Value = value;
                command.Parameters.Add(parameter);
            }
        }

        return command;
    }
}

/// <summary>How the operator tools ride out a strand's moment of trouble while the application runs beside them.</summary>
internal static class StrandFaults
{
    private const int Attempts = 5;

    /// <summary>Runs a query, again after a short wait (50, 100, ... ms) when it meets a strand fault, up to five times.</summary>
    public static async Task<T> RetryAsync<T>(HelixDataSource dataSource, Func<Task<T>> query, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await query();
            }
            catch (DbException e) when (attempt < Attempts && !cancellationToken.IsCancellationRequested && dataSource.Classifier.Classify(e) == HelixErrorKind.StrandFault)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), dataSource.TimeProvider, cancellationToken);
            }
        }
    }
}
