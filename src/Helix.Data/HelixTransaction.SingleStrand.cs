using System.Data;
using Helix.Data.Internal;

namespace Helix.Data;

/// <content>
/// Single-strand mode (no <c>Secondary</c>): a pure pass-through. The transaction is the primary's own; its commands,
/// commit and rollback reach the caller with the provider's own results and exceptions, as without Helix.
/// </content>
public sealed partial class HelixTransaction
{
    private Side Only => _sides[0];

    private async ValueTask<object?> ExecuteSingleAsync(HelixCommand command, HelixCommand.Operation operation, CommandBehavior behavior, SqlTextInfo text, bool isWrite, IOBehavior io, CancellationToken cancellationToken)
    {
        var side = Only;
        if (side.Mode != Mode.Active)
        {
            await BeginOnAsync(side, io, cancellationToken).ConfigureAwait(false);
        }

        var timestamp = text.TimestampParameter is null ? 0 : _dataSource.Timestamps.Next();
        var result = await command.RunOnStrandAsync(_connection, side.Strand, operation, behavior, true, text, timestamp, Enlist(command, side), io, cancellationToken).ConfigureAwait(false);
        return command.Finish(result, isRead: !isWrite);
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

                _keepsConnection |= inner.Connection is not null;
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
