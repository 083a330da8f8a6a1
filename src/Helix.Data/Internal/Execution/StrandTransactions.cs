using System.Data;
using System.Data.Common;
using System.Runtime.ExceptionServices;
using Helix.Data.Logging;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// The engine's side of a <see cref="HelixTransaction"/>: one inner transaction per strand, started when a command first
/// touches the strand, and the protocol that runs statements in them, keeps savepoints on every strand, commits where the
/// transaction runs and replays it where it does not (contract section 8). The public type is its ADO.NET façade.
/// </summary>
internal sealed partial class StrandTransactions
{
    private readonly HelixTransaction _owner;
    private HelixConnection? _connection; // none while a TransactionScope's transaction waits for its next connection (AmbientEnlistment)
    private readonly HelixDataSource _dataSource;
    private readonly Side[] _sides;
    private readonly List<RecordedStatement> _recorded = [];
    private readonly List<(string Name, int Position)> _savepoints = [];
    private long _timestamp;
    private Exception? _broken;
    private bool _changesSchema; // a statement changed the schema: the transaction commits on every strand or on none

    // The first write the transaction cannot commit (its position in _recorded) and why (CannotCommitFrom): rolled back
    // to a savepoint before it, the transaction can commit again (EF Core does so itself).
    private (int Position, string Why)? _cannotCommitFrom;

    public StrandTransactions(HelixTransaction owner, HelixConnection connection, HelixDataSource dataSource, IsolationLevel isolationLevel)
    {
        _owner = owner;
        _connection = connection;
        _dataSource = dataSource;
        IsolationLevel = isolationLevel;
        _sides = [.. dataSource.Strands.Select(s => new Side(s))];
    }

    /// <summary>How the transaction stands on one strand.</summary>
    private enum Mode
    {
        /// <summary>No command has touched the strand yet.</summary>
        Untouched,

        /// <summary>The strand has an inner transaction that takes the writes.</summary>
        Active,

        /// <summary>The strand takes no direct writes (it faulted or was not healthy): it gets the transaction by replay.</summary>
        Recording,

        /// <summary>The strand refused a write that another strand applied: it gets the transaction as a dead letter.</summary>
        Refused,
    }

    public IsolationLevel IsolationLevel { get; }

    /// <summary>Gets a value indicating whether the transaction stands for an ambient one (<see cref="AmbientEnlistment"/>): every command runs in it.</summary>
    public bool IsAmbient { get; init; }

    /// <summary>Gets the connection whose commands run in the transaction now.</summary>
    public HelixConnection? Connection => _connection;

    /// <summary>
    /// Moves the transaction to another connection, or to none: an ambient transaction outlives the connection that began
    /// it, and its inner connections go to the next connection opened in the same scope.
    /// </summary>
    public void MoveTo(HelixConnection? connection) => _connection = connection;

    /// <summary>The inner transaction on <paramref name="connection"/>, if a strand's part of this transaction runs there.</summary>
    public DbTransaction? InnerOn(DbConnection connection) => _sides.FirstOrDefault(s => s.Inner is { } inner && ReferenceEquals(inner.Connection, connection))?.Inner;

    /// <summary>Gets a value indicating whether the transaction committed or rolled back.</summary>
    public bool IsCompleted { get; private set; }

    /// <summary>Gets or sets a value indicating whether the façade was disposed (for the error a completed transaction gives).</summary>
    public bool IsDisposed { get; set; }

    /// <summary>Gets a value indicating whether the completed transaction still reports its connection, as the primary's provider does.</summary>
    public bool KeepsConnection { get; private set; }

    public void ThrowIfUnusable()
    {
        if (IsCompleted)
        {
            throw Completed();
        }

        if (_broken is not null)
        {
            throw new HelixException($"The transaction cannot go on; roll it back. {_broken.Message}", _broken);
        }
    }

    /// <summary>Rolls back every strand when the connection closes; closing does not throw for a failed rollback.</summary>
    public async ValueTask AbandonAsync(IOBehavior io)
    {
        if (IsCompleted)
        {
            return;
        }

        try
        {
            await RollbackAsync(io).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the server rolls back a transaction whose session ends anyway
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.RollbackFailed(_dataSource.Logger, e, "every");
            Complete();
        }
    }

    private async ValueTask RollbackQuietlyAsync(Side side, DbTransaction inner, IOBehavior io)
    {
        try
        {
            if (io == IOBehavior.Synchronous)
            {
                inner.Rollback();
            }
            else
            {
                await inner.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // the strand is being given up; its server rolls the transaction back when the session ends anyway
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.RollbackFailed(_dataSource.Logger, e, side.Strand.Name);
        }

        await DisposeInnerAsync(inner, io).ConfigureAwait(false);
    }

    private static ValueTask DisposeInnerAsync(DbTransaction inner, IOBehavior io)
    {
        if (io == IOBehavior.Synchronous)
        {
            inner.Dispose();
            return default;
        }

        return inner.DisposeAsync();
    }

    public async ValueTask RollbackAsync(IOBehavior io)
    {
        if (IsCompleted)
        {
            throw Completed();
        }

        Exception? refusal = null;
        foreach (var side in _sides.Where(s => s.Inner is not null))
        {
            try
            {
                if (io == IOBehavior.Synchronous)
                {
                    side.Inner!.Rollback();
                }
                else
                {
                    await side.Inner!.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                }

                KeepsConnection |= side.Inner.Connection is not null;
                side.Strand.NoteTransactionCompleted(side.Inner);
            }
#pragma warning disable CA1031 // errors of a strand that is gone are ignored (contract section 8); others are rethrown below
            catch (Exception e)
#pragma warning restore CA1031
            {
                if (_dataSource.IsSingleStrand || _dataSource.Classifier.Classify(e) == HelixErrorKind.StatementError)
                {
                    refusal ??= e; // single-strand mode passes every error through, as the provider would
                }
                else
                {
                    side.Strand.Controller.ReportFault(e);
                    _connection?.Discard(side.Strand);
                }
            }

            await DisposeInnerAsync(side.Inner!, io).ConfigureAwait(false);
            side.Inner = null;
        }

        Complete();
        if (refusal is not null)
        {
            ExceptionDispatchInfo.Capture(refusal).Throw();
        }
    }

    /// <summary>
    /// The error for using a completed transaction: once it is disposed, what the primary's provider throws for its own
    /// disposed transaction (Npgsql an <see cref="ObjectDisposedException"/>, SQLite an <see cref="InvalidOperationException"/>).
    /// </summary>
    private InvalidOperationException Completed() =>
        IsDisposed && _sides[0].Strand.DisposedTransactionThrowsObjectDisposed()
            ? new ObjectDisposedException(nameof(HelixTransaction), "This transaction has been disposed; it is no longer usable.")
            : new InvalidOperationException("This transaction has completed; it is no longer usable.");

    private void Complete()
    {
        if (_sides.All(s => s.Mode == Mode.Untouched))
        {
            try
            {
                KeepsConnection = _sides[0].Strand.ProbeTransactionKeepsConnection();
            }
#pragma warning disable CA1031 // the probe needs the primary; without it, report what most providers do
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        IsCompleted = true;
        _connection?.TransactionCompleted(_owner);
    }

    /// <summary>One strand's part in the transaction.</summary>
    private sealed class Side(Strand strand)
    {
        public Strand Strand { get; } = strand;

        public Mode Mode { get; set; }

        public DbTransaction? Inner { get; set; }

        /// <summary>Why the strand left the transaction, for its replay entry.</summary>
        public Exception? Error { get; set; }

        /// <summary>For a refused strand: how many recorded statements came before the refused one.</summary>
        public int RefusedAt { get; set; }
    }
}
