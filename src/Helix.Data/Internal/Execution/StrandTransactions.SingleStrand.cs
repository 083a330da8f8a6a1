using System.Runtime.ExceptionServices;

namespace Helix.Data.Internal.Execution;

/// <content>
/// Single-strand mode (no <c>Secondary</c>): a pure pass-through. The transaction is the primary's own; its commands,
/// commit and rollback reach the caller with the provider's own results and exceptions, as without Helix.
/// </content>
internal sealed partial class StrandTransactions
{
    private Side Only => _sides[0];

    private async ValueTask<object?> ExecuteSingleAsync(Execution execution)
    {
        var side = Only;
        if (side.Mode != Mode.Active)
        {
            await BeginOnAsync(side, execution.Io, execution.CancellationToken).ConfigureAwait(false);
        }

        var result = await StrandRunner.RunAsync(in execution, side.Strand, useOriginals: true, Enlist(execution.Statement, side)).ConfigureAwait(false);
        return CommandEngine.Finish(in result, in execution, isRead: !execution.IsWrite);
    }

    private async ValueTask CommitSingleAsync(IOBehavior io, CancellationToken cancellationToken)
    {
        // Committed or not, the transaction is over, as the provider's own would be after its commit threw; the
        // provider's exception reaches the caller unchanged.
        var error = Only.Inner is null ? null : await CommitSideAsync(Only, io, cancellationToken).ConfigureAwait(false);
        Complete();
        if (error is not null)
        {
            ExceptionDispatchInfo.Capture(error).Throw();
        }
    }
}
