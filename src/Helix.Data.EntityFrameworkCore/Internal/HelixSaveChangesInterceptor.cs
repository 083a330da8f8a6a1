using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Makes <c>SaveChanges</c> outside a transaction run in one even for one statement, where EF would use none
/// (<see cref="AutoTransactionBehavior.WhenNeeded"/>, the default). Two contexts saving one row at once would otherwise
/// each run their <c>UPDATE</c> on both strands at once, and the servers could apply them in different orders and keep
/// different values (contract amendment 39); in a transaction the statement runs on the primary first and holds the row
/// there until it ran on the secondary, so both apply them in the same order. Inside the application's transaction that
/// holds already, and the behaviour is given back after each save (EF would otherwise add a savepoint per save there).
/// For a model with <c>xmin</c> concurrency tokens the transaction is also what undoes the unchecked strand's write when
/// the check fails (<see cref="ServerTokens"/>), in a transaction or not, so it stays. An application that chose
/// <see cref="AutoTransactionBehavior.Never"/> keeps it (a write checking a token is then refused:
/// <see cref="EfSession.ExecuteAsync"/>); one that turned <see cref="HelixEntityFrameworkOptions.SaveChangesInTransaction"/>
/// off keeps EF's behaviour for models without such tokens.
/// </summary>
internal sealed class HelixSaveChangesInterceptor(HelixRouter router) : SaveChangesInterceptor
{
    // The contexts whose WhenNeeded this interceptor turned into Always for one save, to give back when it ends.
    private readonly ConditionalWeakTable<DbContext, object> _lent = [];

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        UseTransaction(eventData.Context);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        UseTransaction(eventData.Context);
        return new(result);
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        GiveBack(eventData.Context);
        return result;
    }

    public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        GiveBack(eventData.Context);
        return new(result);
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData) => GiveBack(eventData.Context);

    public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        GiveBack(eventData.Context);
        return Task.CompletedTask;
    }

    public override void SaveChangesCanceled(DbContextEventData eventData) => GiveBack(eventData.Context);

    public override Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default)
    {
        GiveBack(eventData.Context);
        return Task.CompletedTask;
    }

    private void UseTransaction(DbContext? context)
    {
        if (context is not { Database: { AutoTransactionBehavior: AutoTransactionBehavior.WhenNeeded } database } || router.DataSource.IsSingleStrand)
        {
            return;
        }

        if (router.HasServerTokens(context.Model))
        {
            database.AutoTransactionBehavior = AutoTransactionBehavior.Always; // for good: the check needs it everywhere
        }
        else if (router.SavesInTransaction && database.CurrentTransaction is null)
        {
            database.AutoTransactionBehavior = AutoTransactionBehavior.Always;
            _lent.AddOrUpdate(context, context);
        }
    }

    private void GiveBack(DbContext? context)
    {
        if (context is not null && _lent.Remove(context))
        {
            context.Database.AutoTransactionBehavior = AutoTransactionBehavior.WhenNeeded;
        }
    }
}
