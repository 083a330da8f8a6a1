using System.Data.Common;
using Helix.Data.IntegrationTests.Support;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary>
/// Kills a server just before EF runs the first command whose text contains the given text: a real fault at an exact
/// point of a migration or a <c>SaveChanges</c>. Registered before <c>UseHelix</c>, it runs before Helix's interceptor.
/// </summary>
internal sealed class KillBeforeCommand(string text, PostgresServer server) : DbCommandInterceptor
{
    public bool Killed { get; private set; }

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        await KillIfAsync(command);
        return result;
    }

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await KillIfAsync(command);
        return result;
    }

    private async Task KillIfAsync(DbCommand command)
    {
        if (!Killed && command.CommandText.Contains(text, StringComparison.Ordinal))
        {
            Killed = true;
            await server.KillAsync();
        }
    }
}
