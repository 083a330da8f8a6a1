using System.Data.Common;
using System.Reflection;
using System.Text.RegularExpressions;
using Helix.Data.Internal;
using Helix.Data.Logging;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// The database types a provider caches per data source. Npgsql loads a server's types (enums, extensions' types, ranges)
/// once per data source and maps its enums by them; after a schema change creates or changes one, EF's Npgsql provider
/// reloads the types of its own connection's data source. The strands' data sources Helix uses must then reload theirs
/// too. Npgsql's data sources have <c>ReloadTypes</c>/<c>ReloadTypesAsync</c>; they are called by name, since this
/// package depends on no provider (a data source without them caches nothing to reload).
/// </summary>
internal static partial class ProviderTypes
{
    /// <summary>Whether a schema change's SQL creates, changes or drops a type, a domain or an extension.</summary>
    public static bool Changes(string commandText) => TypeChange().IsMatch(commandText);

    /// <summary>Makes every strand's data source load its types again; a strand that cannot (down meanwhile) is logged.</summary>
    public static async ValueTask ReloadAsync(HelixDataSource dataSource, IOBehavior io)
    {
        foreach (var strand in dataSource.Strands)
        {
            try
            {
                await ReloadAsync(strand.ConnectionSource, io).ConfigureAwait(false);
            }
            catch (DbException e)
            {
                Log.TypesNotReloaded(dataSource.Logger, e, strand.Name);
            }
        }
    }

    private static async ValueTask ReloadAsync(DbDataSource dataSource, IOBehavior io)
    {
        var type = dataSource.GetType();
        try
        {
            if (io == IOBehavior.Asynchronous && type.GetMethod("ReloadTypesAsync", [typeof(CancellationToken)]) is { ReturnType: var returns } reloadAsync && typeof(Task).IsAssignableFrom(returns))
            {
                await ((Task)reloadAsync.Invoke(dataSource, [CancellationToken.None])!).ConfigureAwait(false);
            }
            else
            {
                type.GetMethod("ReloadTypes", Type.EmptyTypes)?.Invoke(dataSource, null);
            }
        }
        catch (TargetInvocationException e) when (e.InnerException is DbException inner)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(inner);
        }
    }

    [GeneratedRegex(@"\b(CREATE|ALTER|DROP)\s+(TYPE|DOMAIN|EXTENSION)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TypeChange();
}
