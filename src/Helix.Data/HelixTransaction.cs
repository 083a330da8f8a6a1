using System.Data;
using System.Data.Common;
using Helix.Data.Internal;
using Helix.Data.Internal.Execution;

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
public sealed class HelixTransaction : DbTransaction
{
    internal HelixTransaction(HelixConnection connection, HelixDataSource dataSource, IsolationLevel isolationLevel, bool isAmbient = false)
    {
        Strands = new StrandTransactions(this, connection, dataSource, isolationLevel) { IsAmbient = isAmbient };
    }

    /// <inheritdoc />
    public override IsolationLevel IsolationLevel => Strands.IsolationLevel;

    /// <summary>
    /// Gets the connection. Once the transaction is committed or rolled back it is what the inner provider reports
    /// then: <see langword="null"/> for SQLite, still the connection for Npgsql.
    /// </summary>
    public new HelixConnection? Connection => Strands.IsCompleted && !Strands.KeepsConnection ? null : Strands.Connection;

    /// <summary>Gets a value indicating whether savepoints are supported: they are, on every strand.</summary>
    public override bool SupportsSavepoints => true;

    /// <inheritdoc />
    protected override DbConnection? DbConnection => Connection;

    /// <summary>Gets the engine that runs the transaction on the strands.</summary>
    internal StrandTransactions Strands { get; }

    /// <summary>Gets this transaction's native transaction on <paramref name="inner"/>, one of its connection's inner connections, if it has begun one there.</summary>
    internal DbTransaction? InnerOn(DbConnection inner) => Strands.InnerOn(inner);

    /// <inheritdoc />
    public override void Commit() => Strands.CommitAsync(IOBehavior.Synchronous, CancellationToken.None).Synchronously();

    /// <inheritdoc />
    public override Task CommitAsync(CancellationToken cancellationToken = default) => Strands.CommitAsync(IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Rollback() => Strands.RollbackAsync(IOBehavior.Synchronous).Synchronously();

    /// <inheritdoc />
    public override Task RollbackAsync(CancellationToken cancellationToken = default) => Strands.RollbackAsync(IOBehavior.Asynchronous).AsTask();

    /// <inheritdoc />
    public override void Save(string savepointName) => Strands.SavepointAsync(SavepointOperation.Save, savepointName, IOBehavior.Synchronous, CancellationToken.None).Synchronously();

    /// <inheritdoc />
    public override Task SaveAsync(string savepointName, CancellationToken cancellationToken = default) =>
        Strands.SavepointAsync(SavepointOperation.Save, savepointName, IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Rollback(string savepointName) => Strands.SavepointAsync(SavepointOperation.Rollback, savepointName, IOBehavior.Synchronous, CancellationToken.None).Synchronously();

    /// <inheritdoc />
    public override Task RollbackAsync(string savepointName, CancellationToken cancellationToken = default) =>
        Strands.SavepointAsync(SavepointOperation.Rollback, savepointName, IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Release(string savepointName) => Strands.SavepointAsync(SavepointOperation.Release, savepointName, IOBehavior.Synchronous, CancellationToken.None).Synchronously();

    /// <inheritdoc />
    public override Task ReleaseAsync(string savepointName, CancellationToken cancellationToken = default) =>
        Strands.SavepointAsync(SavepointOperation.Release, savepointName, IOBehavior.Asynchronous, cancellationToken).AsTask();

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        Strands.IsDisposed = true;
        if (!Strands.IsCompleted)
        {
            await Strands.RollbackAsync(IOBehavior.Asynchronous).ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        Strands.IsDisposed |= disposing;
        if (disposing && !Strands.IsCompleted)
        {
            Strands.RollbackAsync(IOBehavior.Synchronous).Synchronously();
        }

        base.Dispose(disposing);
    }
}
