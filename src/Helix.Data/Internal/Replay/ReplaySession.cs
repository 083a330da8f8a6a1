using System.Data.Common;

namespace Helix.Data.Internal.Replay;

/// <summary>One pooled inner connection to a strand for the worker, opened on first use and dropped after any error.</summary>
internal sealed class ReplaySession(Strand strand) : IAsyncDisposable
{
    private DbConnection? _connection;

    public Strand Strand { get; } = strand;

    public async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_connection is null)
        {
            _connection = Strand.CreateConnection();
            await _connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }

        return Strand.SetUp(_connection); // a setup asked for after it opened applies to it too
    }

    /// <summary>Drops the connection: the next use opens a new one.</summary>
    public async ValueTask ResetAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
    }

    /// <summary>
    /// Runs the probe statement; returns the fault that kept it from answering (the connection is dropped then), or
    /// <see langword="null"/>.
    /// </summary>
    public async Task<Exception?> ProbeAsync(string? probeCommandText, CancellationToken stopping)
    {
        Exception? fault;
        try
        {
            var connection = await OpenAsync(stopping).ConfigureAwait(false);
            fault = await StrandProbe.RunAsync(connection, Strand, probeCommandText, stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            fault = e;
        }

        if (fault is not null)
        {
            await ResetAsync().ConfigureAwait(false);
        }

        return fault;
    }

    public ValueTask DisposeAsync() => ResetAsync();
}
