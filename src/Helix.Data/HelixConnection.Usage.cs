using System.Runtime.CompilerServices;
using Helix.Data.Strategies;

namespace Helix.Data;

/// <content>
/// What is running on the connection (contract amendment 38): the command being executed, which no second command may
/// join, and the readers still open on each strand, whose inner connections a provider may not share with another
/// command (Npgsql and MySqlConnector do not; SQLite does).
/// </content>
public sealed partial class HelixConnection
{
    private int _commandInProgress;
    private ReaderCounts _openReaders;

    /// <summary>Gets a value indicating whether a reader of this connection is still open.</summary>
    private bool HasOpenReaders => _openReaders[0] + _openReaders[1] > 0;

    /// <summary>
    /// Gets the order a write, a commit or a savepoint runs on the strands in while a reader of this connection is still open: first
    /// on the strand the reader reads, so that a provider that refuses a second command beside an open reader refuses it
    /// there, before any strand applied it; <see langword="null"/> when no reader is open.
    /// </summary>
    internal HelixWriteOrder? OrderForOpenReader =>
        _openReaders[0] > 0 ? HelixWriteOrder.PrimaryFirst : _openReaders[1] > 0 ? HelixWriteOrder.SecondaryFirst : null;

    /// <summary>A reader of a command on this connection, on the strand given, was returned to the caller.</summary>
    internal void ReaderOpened(int strand) => _openReaders[strand]++;

    /// <summary>A reader that <see cref="ReaderOpened"/> counted was closed.</summary>
    internal void ReaderClosed(int strand) => _openReaders[strand]--;

    /// <summary>
    /// Marks a command as running on this connection until <see cref="CommandEnded"/>; <see langword="false"/> when one
    /// runs already. A second command started meanwhile (from another thread: an ADO.NET connection is not thread-safe)
    /// is refused before it runs anywhere (<see cref="CommandInProgress"/>): the two would meet each strand's inner
    /// connection in a different order, and a strand that refused one as busy while the other strand applied it would
    /// leave the strands apart.
    /// </summary>
    internal bool TryStartCommand() => Interlocked.Exchange(ref _commandInProgress, 1) == 0;

    /// <summary>The error for a command started while another one of the same connection runs.</summary>
    internal static InvalidOperationException CommandInProgress() => new(
        "A command is already in progress on this connection. A HelixConnection runs one command at a time, as NpgsqlConnection and MySqlConnection do: "
        + "give each concurrent operation a connection of its own (HelixDataSource.OpenConnection hands out pooled ones).");

    /// <summary>The command <see cref="TryStartCommand"/> marked has ended (its reader, if any, may still be open).</summary>
    internal void CommandEnded() => Volatile.Write(ref _commandInProgress, 0);

    /// <summary>Open readers per strand, held in the connection object itself.</summary>
    [InlineArray(InnerConnections.Length)]
    private struct ReaderCounts
    {
        private int _first;
    }
}
