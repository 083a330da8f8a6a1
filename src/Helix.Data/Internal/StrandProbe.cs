using System.Data.Common;

namespace Helix.Data.Internal;

/// <summary>Runs the probe statement on a strand: the cheapest round trip that proves it answers.</summary>
internal static class StrandProbe
{
    /// <summary>Runs the probe on an open connection of the strand; returns the error, if any.</summary>
    public static async Task<Exception?> RunAsync(DbConnection connection, Strand strand, string? commandText, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = commandText ?? strand.DefaultProbeCommandText;
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return e;
        }
    }

    /// <summary>Opens a connection of the strand, runs the probe and closes it; returns the error, if any.</summary>
    public static async Task<Exception?> OpenAndRunAsync(Strand strand, string? commandText, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = strand.DataSource.CreateConnection();
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return await RunAsync(connection, strand, commandText, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return e;
        }
    }
}
