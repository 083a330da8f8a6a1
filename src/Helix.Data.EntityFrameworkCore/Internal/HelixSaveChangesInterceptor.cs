using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// Makes <c>SaveChanges</c> of a model with <c>xmin</c> concurrency tokens run in a transaction even for one statement,
/// where EF would use none (<see cref="AutoTransactionBehavior.WhenNeeded"/>): through Helix the token is checked on one
/// strand and the other takes the write unchecked (<see cref="ServerTokens"/>), which only a transaction EF rolls back
/// when the check fails can undo. An application that chose <see cref="AutoTransactionBehavior.Never"/> keeps it, and such
/// a write is refused (<see cref="EfSession.ExecuteAsync"/>).
/// </summary>
internal sealed class HelixSaveChangesInterceptor(HelixRouter router) : SaveChangesInterceptor
{
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

    private void UseTransaction(DbContext? context)
    {
        if (context is { Database: { AutoTransactionBehavior: AutoTransactionBehavior.WhenNeeded } database } && !router.DataSource.IsSingleStrand && router.HasServerTokens(context.Model))
        {
            database.AutoTransactionBehavior = AutoTransactionBehavior.Always;
        }
    }
}
