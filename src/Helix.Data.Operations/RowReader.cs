using System.Data.Common;

namespace Helix.Data.Operations;

/// <summary>Reads one row, whole, from each strand directly (not through Helix's routing, which reads one strand).</summary>
internal sealed class RowReader(HelixDataSource dataSource, HelixVerifyOptions options)
{
    public async Task<(IReadOnlyDictionary<string, object?>? Primary, IReadOnlyDictionary<string, object?>? Secondary)> ReadAsync(object key, CancellationToken cancellationToken) =>
        (await StrandFaults.RetryAsync(dataSource, () => ReadAsync(dataSource.Strands[0].DataSource, key, cancellationToken), cancellationToken),
         await StrandFaults.RetryAsync(dataSource, () => ReadAsync(dataSource.Strands[1].DataSource, key, cancellationToken), cancellationToken));

    private async Task<IReadOnlyDictionary<string, object?>?> ReadAsync(DbDataSource strand, object key, CancellationToken cancellationToken)
    {
        await using var connection = await strand.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {Identifier.Quote(options.Table)} WHERE {Identifier.Quote(options.KeyColumn)} = @key";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@key";
        parameter.Value = key;
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var row = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < reader.FieldCount; i++)
        {
            row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
        }

        return row;
    }
}
