using System.Data.Common;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// The provider's own error for a command no strand could carry out (contract amendment 32). EF Core's providers act on
/// their own exceptions only: Npgsql's retrying execution strategy retries a transient <c>NpgsqlException</c>, SQL
/// Server's a <c>SqlException</c> of its list; a <see cref="HelixException"/> is retried by none. So where every strand
/// faulted and nothing was applied (a read, a write no strand took, a transaction's write whose strands all failed, an
/// open), EF gets the error of the strand reads go to first, as it would from that server alone. A write whose outcome
/// is unknown keeps its <see cref="HelixException"/>: Helix replays it on every strand, and a retry would apply it twice.
/// </summary>
internal static class ProviderErrors
{
    public static DbException? Of(HelixException exception, HelixDataSource dataSource)
    {
        if (exception.IsOutcomeUnknown)
        {
            return null;
        }

        var (first, second) = HelixConnection.FirstToOpen(dataSource).Id == HelixStrand.Primary
            ? (exception.PrimaryException, exception.SecondaryException)
            : (exception.SecondaryException, exception.PrimaryException);
        return Own(first) ?? Own(second);

        DbException? Own(Exception? error) =>
            error is DbException own and not HelixException && dataSource.Classifier.Classify(own) == HelixErrorKind.StrandFault ? own : null;
    }
}
