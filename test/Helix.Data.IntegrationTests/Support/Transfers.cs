using System.Collections.Concurrent;
using System.Data.Common;
using Dapper;
using Helix.Data.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Helix.Data.IntegrationTests.Support;

/// <summary>
/// Workers moving one unit between two accounts in transactions, half of them from account 1 to 2 and half from 2 to 1,
/// so that the servers' deadlock detection keeps ending some of them; each worker retries what ended with a transient
/// error, as an application does after a deadlock. The accounts' table is <c>accounts (id, balance)</c> with rows 1 and 2.
/// </summary>
internal static class Transfers
{
    /// <summary>What a run left: transfers that failed for good, how many attempts the workers retried, and what Helix logged.</summary>
    public sealed record Outcome(IReadOnlyCollection<string> Failures, int Retries, IReadOnlyList<string> StrandStateChanges);

    public static async Task<Outcome> RunAsync(string helixConnectionString, int workers, int transfers)
    {
        var logs = new CollectingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var dataSource = new HelixDataSourceBuilder(helixConnectionString).UseLoggerFactory(loggers).Build();
        var failures = new ConcurrentBag<string>();
        var retries = 0;
        async Task WorkAsync(int worker)
        {
            var (from, to) = worker % 2 == 0 ? (1, 2) : (2, 1);
            for (var i = 0; i < transfers; i++)
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await using var connection = await dataSource.OpenConnectionAsync();
                        await using var transaction = await connection.BeginTransactionAsync();
                        await connection.ExecuteAsync("UPDATE accounts SET balance = balance - 1 WHERE id = @from", new { from }, transaction);
                        await connection.ExecuteAsync("UPDATE accounts SET balance = balance + 1 WHERE id = @to", new { to }, transaction);
                        await transaction.CommitAsync();
                        break;
                    }
                    catch (DbException e) when (e.IsTransient && attempt < 100)
                    {
                        Interlocked.Increment(ref retries);
                    }
                    catch (DbException e)
                    {
                        failures.Add($"{e.GetType().Name}: {e.Message}");
                        break;
                    }
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkAsync(w))));
        var changes = logs.Entries.Where(e => e.Id.Name == "StrandStateChanged").Select(e => e.Message).ToList();
        return new Outcome(failures, retries, changes);
    }
}
