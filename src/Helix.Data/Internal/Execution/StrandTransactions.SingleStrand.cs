
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
        var inner = Only.Inner;
        try
        {
            if (inner is not null)
            {
                if (io == IOBehavior.Synchronous)
                {
                    inner.Commit();
                }
                else
                {
                    await inner.CommitAsync(cancellationToken).ConfigureAwait(false);
                }

                KeepsConnection |= inner.Connection is not null;
                Only.Strand.NoteTransactionCompleted(inner);
            }
        }
        finally
        {
            // Committed or not, the transaction is over, as the provider's own would be after its commit threw.
            Only.Inner = null;
            if (inner is not null)
            {
                await DisposeInnerAsync(inner, io).ConfigureAwait(false);
            }

            Complete();
        }
    }
}
