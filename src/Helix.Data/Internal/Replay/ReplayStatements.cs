using System.Data.Common;
using Helix.Data.Logging;
using Helix.Data.Replay;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Internal.Replay;

/// <summary>Runs replay entries on a strand: their statements in order, in one transaction and one round trip where it can.</summary>
internal static class ReplayStatements
{
    /// <summary>Applies entries in order, in one transaction when asked; returns the error that stopped them, if any.</summary>
    public static async Task<Exception?> ApplyAsync(ReplaySession session, IReadOnlyList<HelixReplayEntry> entries, bool transaction, ILogger logger, CancellationToken stopping)
    {
        DbTransaction? tx = null;
        using var activity = HelixActivities.StartReplay(session.Strand, entries.Count);
        try
        {
            var connection = await session.OpenAsync(stopping).ConfigureAwait(false);
            if (transaction)
            {
                tx = await connection.BeginTransactionAsync(stopping).ConfigureAwait(false);
            }

            if (connection.CanCreateBatch && entries.Sum(e => e.Statements.Count) > 1 && entries.All(e => e.Statements.All(IsBatchable)))
            {
                await ExecuteAsBatchAsync(connection, tx, entries, stopping).ConfigureAwait(false);
            }
            else
            {
                foreach (var statement in entries.SelectMany(e => e.Statements))
                {
                    await ExecuteAsync(connection, tx, statement, stopping).ConfigureAwait(false);
                }
            }

            if (tx is not null)
            {
                await tx.CommitAsync(stopping).ConfigureAwait(false);
            }

            return null;
        }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            HelixActivities.Fail(activity, e);
            if (tx is not null)
            {
                try
                {
                    await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // a rollback on a broken connection fails too; the original error is what matters
                catch (Exception rollback)
#pragma warning restore CA1031
                {
                    Log.RollbackFailed(logger, rollback, session.Strand.Name);
                }
            }

            await session.ResetAsync().ConfigureAwait(false);
            return e;
        }
        finally
        {
            if (tx is not null)
            {
                await tx.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, HelixReplayStatement statement, CancellationToken stopping)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = statement.CommandText;
        command.CommandType = statement.CommandType;
        if (statement.CommandTimeout is { } timeout)
        {
            command.CommandTimeout = timeout;
        }

        foreach (var parameter in statement.Parameters)
        {
            command.Parameters.Add(parameter);
        }

        try
        {
            await command.ExecuteNonQueryAsync(stopping).ConfigureAwait(false);
        }
        finally
        {
            command.Parameters.Clear(); // the entry's parameters are applied again if this attempt fails
        }
    }

    /// <summary>Sends every statement in one round trip, in order.</summary>
    /// <summary>
    /// Whether a statement can be one command of a <see cref="DbBatch"/>: not a text of several statements (EF Core's
    /// SaveChanges sends several INSERTs as one), which a batch command refuses (Npgsql: "specifying multiple SQL
    /// statements in a single NpgsqlBatchCommand isn't supported"); such entries run command by command. Any semicolon
    /// counts (one inside a string literal costs only the single round trip).
    /// </summary>
    private static bool IsBatchable(HelixReplayStatement statement) => !statement.CommandText.Contains(';', StringComparison.Ordinal);

    private static async Task ExecuteAsBatchAsync(DbConnection connection, DbTransaction? transaction, IReadOnlyList<HelixReplayEntry> entries, CancellationToken stopping)
    {
        await using var batch = connection.CreateBatch();
        batch.Transaction = transaction;
        int? timeout = null;
        foreach (var statement in entries.SelectMany(e => e.Statements))
        {
            var command = batch.CreateBatchCommand();
            command.CommandText = statement.CommandText;
            command.CommandType = statement.CommandType;
            foreach (var parameter in statement.Parameters)
            {
                command.Parameters.Add(parameter);
            }

            batch.BatchCommands.Add(command);

            // The batch gets the most generous timeout of its statements (0, no limit, is the most generous).
            timeout = statement.CommandTimeout switch
            {
                null => timeout,
                0 => 0,
                { } t => timeout == 0 ? 0 : Math.Max(timeout ?? 0, t),
            };
        }

        if (timeout is { } limit)
        {
            batch.Timeout = limit;
        }

        try
        {
            await batch.ExecuteNonQueryAsync(stopping).ConfigureAwait(false);
        }
        finally
        {
            foreach (DbBatchCommand command in batch.BatchCommands)
            {
                command.Parameters.Clear();
            }
        }
    }
}
