using System.Data;
using System.Data.Common;
using System.Runtime.ExceptionServices;
using Helix.Data.Internal;
using Helix.Data.Logging;

namespace Helix.Data;

/// <summary>
/// A transaction on the strands of a <see cref="HelixConnection"/> (contract section 8). It starts on each strand
/// when a command first touches it, with the same isolation level; writes run on every strand, reads on one, and
/// savepoints apply to every strand.
/// </summary>
/// <remarks>
/// <para>
/// When a strand faults inside the transaction, its side is rolled back and the transaction goes on with the others.
/// When the transaction commits on at least one strand, every strand that did not commit it (it faulted, it was not
/// healthy, or its commit faulted) gets the whole transaction as one replay entry, applied atomically and in order.
/// </para>
/// <para>Commands on the connection take part in the transaction whether or not their <c>Transaction</c> is set.</para>
/// </remarks>
public sealed partial class HelixTransaction : DbTransaction
{
    private readonly HelixConnection _connection;
    private readonly HelixDataSource _dataSource;
    private readonly Side[] _sides;
    private readonly List<RecordedStatement> _recorded = [];
    private readonly List<(string Name, int Position)> _savepoints = [];
    private long _timestamp;
    private bool _completed;
    private bool _disposed;
    private bool _keepsConnection;
    private Exception? _broken;

    internal HelixTransaction(HelixConnection connection, HelixDataSource dataSource, IsolationLevel isolationLevel)
    {
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

    /// <inheritdoc />
    public override IsolationLevel IsolationLevel { get; }

    /// <summary>
    /// Gets the connection. Once the transaction is committed or rolled back it is what the inner provider reports
    /// then: <see langword="null"/> for SQLite, still the connection for Npgsql.
    /// </summary>
    public new HelixConnection? Connection => _completed && !_keepsConnection ? null : _connection;

    /// <summary>Gets a value indicating whether savepoints are supported: they are, on every strand.</summary>
    public override bool SupportsSavepoints => true;

    /// <inheritdoc />
    protected override DbConnection? DbConnection => Connection;

    internal bool IsCompleted => _completed;

    /// <inheritdoc />
    public override void Commit() => CommitAsync(IOBehavior.Synchronous, CancellationToken.None).Synchronously();

    /// <inheritdoc />
    public override Task CommitAsync(CancellationToken cancellationToken = default) => CommitAsync(IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Rollback() => RollbackAsync(IOBehavior.Synchronous).Synchronously();

    /// <inheritdoc />
    public override Task RollbackAsync(CancellationToken cancellationToken = default) => RollbackAsync(IOBehavior.Asynchronous).AsTask();

    /// <inheritdoc />
    public override void Save(string savepointName) => SavepointAsync(SavepointOperation.Save, savepointName, IOBehavior.Synchronous, CancellationToken.None).Synchronously();

    /// <inheritdoc />
    public override Task SaveAsync(string savepointName, CancellationToken cancellationToken = default) =>
        SavepointAsync(SavepointOperation.Save, savepointName, IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Rollback(string savepointName) => SavepointAsync(SavepointOperation.Rollback, savepointName, IOBehavior.Synchronous, CancellationToken.None).Synchronously();

    /// <inheritdoc />
    public override Task RollbackAsync(string savepointName, CancellationToken cancellationToken = default) =>
        SavepointAsync(SavepointOperation.Rollback, savepointName, IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Release(string savepointName) => SavepointAsync(SavepointOperation.Release, savepointName, IOBehavior.Synchronous, CancellationToken.None).Synchronously();

    /// <inheritdoc />
    public override Task ReleaseAsync(string savepointName, CancellationToken cancellationToken = default) =>
        SavepointAsync(SavepointOperation.Release, savepointName, IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        _disposed = true;
        if (!_completed)
        {
            await RollbackAsync(IOBehavior.Asynchronous).ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        _disposed |= disposing;
        if (disposing && !_completed)
        {
            RollbackAsync(IOBehavior.Synchronous).Synchronously();
        }

        base.Dispose(disposing);
    }

    internal void ThrowIfUnusable()
    {
        if (_completed)
        {
            throw Completed();
        }

        if (_broken is not null)
        {
            throw new HelixException("The transaction lost every strand it was running on and cannot go on; roll it back.", _broken);
        }
    }

    /// <summary>Rolls back every strand when the connection closes; closing does not throw for a failed rollback.</summary>
    internal async ValueTask AbandonAsync(IOBehavior io)
    {
        if (_completed)
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

    private async ValueTask RollbackAsync(IOBehavior io)
    {
        if (_completed)
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

                _keepsConnection |= side.Inner.Connection is not null;
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
                    _connection.Discard(side.Strand);
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
        _disposed && _sides[0].Strand.DisposedTransactionThrowsObjectDisposed()
            ? new ObjectDisposedException(nameof(HelixTransaction), "This transaction has been disposed; it is no longer usable.")
            : new InvalidOperationException("This transaction has completed; it is no longer usable.");

    private void Complete()
    {
        if (_sides.All(s => s.Mode == Mode.Untouched))
        {
            try
            {
                _keepsConnection = _sides[0].Strand.ProbeTransactionKeepsConnection();
            }
#pragma warning disable CA1031 // the probe needs the primary; without it, report what most providers do
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        _completed = true;
        _connection.TransactionCompleted(this);
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
