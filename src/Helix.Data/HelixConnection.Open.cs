using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Helix.Data.Internal;
using Helix.Data.Internal.Execution;

namespace Helix.Data;

/// <content>
/// Opening: the connection itself (the strand reads go to first, the other when a write needs it), and each strand's
/// inner connection, taken from the strand's pool when first needed and dropped after a strand fault.
/// </content>
public sealed partial class HelixConnection
{
    /// <summary>Returns the open inner connection of a strand, opening it first if needed.</summary>
    /// <remarks>Not an async method: an open strand, or a synchronous open, costs no state machine.</remarks>
    internal ValueTask<DbConnection> GetInnerAsync(Strand strand, IOBehavior io, CancellationToken cancellationToken) =>
        _inner[strand.Index] is { } open ? new(open) : OpenNewInnerAsync(strand, io, cancellationToken);

    /// <summary>Opens a strand's inner connection (out of line: its error handling stays out of every command that finds one open).</summary>
    private ValueTask<DbConnection> OpenNewInnerAsync(Strand strand, IOBehavior io, CancellationToken cancellationToken)
    {
        try
        {
            return io == IOBehavior.Asynchronous ? OpenInnerAsync(strand, cancellationToken) : new(OpenInner(strand));
        }
        catch (Exception e)
        {
            return ValueTask.FromException<DbConnection>(e);
        }
    }

    /// <summary>Returns the open inner connection of a strand, opening it first (synchronously) if needed.</summary>
    internal DbConnection GetInner(Strand strand) => _inner[strand.Index] ?? OpenInner(strand);

    private DbConnection OpenInner(Strand strand)
    {
        using var outside = AmbientTransactions.Suppress(_dataSource!);
        var connection = strand.CreateConnection();
        try
        {
            connection.Open();
            if (_database is not null)
            {
                connection.ChangeDatabase(_database);
            }
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        _inner[strand.Index] = connection;
        return connection;
    }

    /// <remarks>Not an async method: an open that completes at once (a pooled connection) needs no state machine.</remarks>
    private ValueTask<DbConnection> OpenInnerAsync(Strand strand, CancellationToken cancellationToken)
    {
        var opening = StartOpening(strand, out var connection, cancellationToken);
        if (!opening.IsCompletedSuccessfully || _database is not null)
        {
            return OpenInnerSlowAsync(strand, connection, opening);
        }

        _inner[strand.Index] = connection;
        return new(connection);
    }

    /// <summary>The rest of <see cref="OpenInnerAsync"/>: waits for the open, changes the database, disposes the connection on failure.</summary>
    private async ValueTask<DbConnection> OpenInnerSlowAsync(Strand strand, DbConnection connection, Task opening)
    {
        _inner[strand.Index] = await ReadyAsync(connection, opening).ConfigureAwait(false);
        return connection;
    }

    /// <summary>
    /// Makes a strand's connection object and starts opening it; an open that throws at once comes back as a faulted task.
    /// Providers enlist in an ambient transaction as they open: the ambient transaction is hidden from the provider while
    /// it makes the object and starts the open (<see cref="AmbientTransactions.Suppress"/>), and shown again when this
    /// returns or throws.
    /// </summary>
    private Task StartOpening(Strand strand, out DbConnection connection, CancellationToken cancellationToken)
    {
        var outside = AmbientTransactions.Suppress(_dataSource!); // asked before the connection object is made: see Suppress
        try
        {
            connection = strand.CreateConnection(); // a throw here leaves with the scope disposed, as any other
            try
            {
                return connection.OpenAsync(cancellationToken);
            }
            catch (Exception e)
            {
                return Task.FromException(e);
            }
        }
        finally
        {
            outside?.Dispose(); // left undisposed, it would hide the caller's TransactionScope from the rest of its code
        }
    }

    /// <summary>Waits for an inner connection to open and moves it to this connection's database; disposes it on failure.</summary>
    private async ValueTask<DbConnection> ReadyAsync(DbConnection connection, Task opening)
    {
        try
        {
            await opening.ConfigureAwait(false);
            if (_database is not null)
            {
                connection.ChangeDatabase(_database);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Drops a strand's inner connection after a strand fault; a later command opens a fresh one. With
    /// <paramref name="failed"/> given, only when that is still the strand's inner connection: one a hedged read detached
    /// (or opened for itself) belongs to the read, and the connection may hold a new one by now.
    /// </summary>
    internal void Discard(Strand strand, DbConnection? failed = null)
    {
        var inner = _inner[strand.Index];
        if (failed is not null && inner != failed)
        {
            return;
        }

        try
        {
            TakeInner(strand.Index)?.Dispose();
        }
#pragma warning disable CA1031 // disposing a broken connection may fail; the fault is already being handled
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Whether this connection holds an open inner connection to the strand.</summary>
    internal bool HasInner(Strand strand) => _inner[strand.Index] is not null;

    /// <summary>
    /// Opens a connection to the strand for one hedged attempt alone, on this connection's database: never this
    /// connection's inner connection (the race may leave the attempt running after the read returned); the read closes it.
    /// </summary>
    internal async Task<DbConnection> OpenOwnInnerAsync(Strand strand, CancellationToken cancellationToken)
    {
        var opening = StartOpening(strand, out var connection, cancellationToken);
        return await ReadyAsync(connection, opening).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes a strand's inner connection away from this connection, still open: a hedged read whose losing attempt still
    /// runs on it closes it once that attempt ends, and this connection opens a fresh one when it needs the strand again.
    /// </summary>
    /// <remarks>A borrowed connection is only given back (<see langword="null"/>): its owner keeps it.</remarks>
    internal DbConnection? Detach(Strand strand) => TakeInner(strand.Index);

    // The strands whose inner connection is borrowed (a bit per strand index): Helix runs commands on it, its owner
    // keeps it; Helix never closes, keeps or disposes it.
    private int _borrowed;

    /// <summary>
    /// Runs this connection's commands for a strand on a connection someone else opened and keeps open, until
    /// <see cref="GiveBack"/> or this connection closes: EF Core's own connection object, which is open on the strand
    /// anyway (one open, one physical connection, and the provider's own setup of it, instead of a second of Helix's).
    /// </summary>
    internal void Borrow(Strand strand, DbConnection open)
    {
        if (TakeInner(strand.Index) is { } own)
        {
            Release(strand.Index, own);
        }

        _inner[strand.Index] = open;
        _borrowed |= 1 << strand.Index;
    }

    /// <summary>Stops running commands on a connection this connection borrowed (its owner is about to begin a transaction on it); the strand's next command opens Helix's own.</summary>
    internal void GiveBack(DbConnection borrowed)
    {
        for (var i = 0; i < InnerConnections.Length; i++)
        {
            if (ReferenceEquals(_inner[i], borrowed) && (_borrowed & (1 << i)) != 0)
            {
                _ = TakeInner(i);
            }
        }
    }

    /// <summary>Takes a strand's inner connection out of this connection: returns it when it is Helix's, <see langword="null"/> when it was borrowed.</summary>
    private DbConnection? TakeInner(int index)
    {
        var inner = _inner[index];
        _inner[index] = null;
        if ((_borrowed & (1 << index)) == 0)
        {
            return inner;
        }

        _borrowed &= ~(1 << index);
        return null;
    }

    /// <remarks>
    /// Not an async method: when the strand reads go to opens at once (a pooled connection, or any synchronous open), the
    /// connection opens without a state machine; <see cref="OpenSlowAsync"/> takes the rest.
    /// </remarks>
    private ValueTask OpenAsync(IOBehavior io, CancellationToken cancellationToken)
    {
        try
        {
            var dataSource = DataSourceOrThrow;
            if (_state == ConnectionState.Open || _disposed)
            {
                return OpenSlowAsync(dataSource, null, null, io, cancellationToken);
            }

            dataSource.ThrowIfDisposed();

            // A token cancelled already goes to the provider with the open: what it does with it (SQLite cancels; Npgsql
            // opens from its pool when it can, else cancels) is what the caller gets, as without Helix.
            var first = FirstToOpen(dataSource);
            var opening = GetInnerAsync(first, io, cancellationToken);
            if (!opening.IsCompletedSuccessfully)
            {
                return OpenSlowAsync(dataSource, first, opening, io, cancellationToken);
            }

            _ = opening.Result;
            SetState(ConnectionState.Open);
            JoinAmbientTransaction(dataSource);
            return default;
        }
        catch (Exception e)
        {
            return CallerCancellation.Is(e, cancellationToken)
                ? ValueTask.FromCanceled(cancellationToken) // the caller's cancellation: a canceled task, as providers give
                : ValueTask.FromException(e);
        }
    }

    /// <summary>
    /// Opens the connection the long way: again on an open or disposed connection, after waiting for the first strand's
    /// open (<paramref name="opening"/>), or on the other strand when the first could not be opened.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its state machine, a large struct, stays out of the frame of OpenAsync
    private async ValueTask OpenSlowAsync(HelixDataSource dataSource, Strand? first, ValueTask<DbConnection>? opening, IOBehavior io, CancellationToken cancellationToken)
    {
        if (_state == ConnectionState.Open)
        {
            // Open on an open connection does what the inner provider does (SQLite: nothing; Npgsql: throws).
            var open = AnyInner() ?? throw new InvalidOperationException("The connection is already open.");
            if (io == IOBehavior.Synchronous)
            {
                open.Open();
            }
            else
            {
                await open.OpenAsync(cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (first is null)
        {
            dataSource.ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();

            // Opening a disposed connection does what the primary's provider does (Npgsql throws, SQLite reopens).
            using (var probe = dataSource.Strands[0].DataSource.CreateConnection())
            {
                probe.Dispose();
                probe.Open();
            }

            first = FirstToOpen(dataSource);
        }

        if (dataSource.IsSingleStrand)
        {
            await OpeningOf(first, opening, io, cancellationToken).ConfigureAwait(false);
            SetState(ConnectionState.Open);
            return;
        }

        var firstError = await TryOpenAsync(dataSource, first, opening, io, cancellationToken).ConfigureAwait(false);
        if (firstError is not null)
        {
            var second = dataSource.Reads!.Other(first)!;
            var secondError = await TryOpenAsync(dataSource, second, null, io, cancellationToken).ConfigureAwait(false);
            if (secondError is not null)
            {
                var primaryError = first.Id == HelixStrand.Primary ? firstError : secondError;
                var secondaryError = first.Id == HelixStrand.Primary ? secondError : firstError;
                throw new HelixException(
                    $"Neither strand could be opened. {dataSource.Strands[0].Name}: {primaryError.Message} {dataSource.Strands[1].Name}: {secondaryError.Message}",
                    primaryError,
                    secondaryError,
                    isTransient: true);
            }
        }

        SetState(ConnectionState.Open);
        JoinAmbientTransaction(dataSource);
    }

    /// <summary>The strand a connection opens first: the one reads go to, so that a connection used only for reads opens one.</summary>
    internal static Strand FirstToOpen(HelixDataSource dataSource) =>
        dataSource.IsSingleStrand ? dataSource.Strands[0] : dataSource.Reads!.Peek() ?? dataSource.Reads.LastResort(null);

    /// <summary>The open of a strand already under way, or a new one.</summary>
    private ValueTask<DbConnection> OpeningOf(Strand strand, ValueTask<DbConnection>? opening, IOBehavior io, CancellationToken cancellationToken) =>
        opening is { } pending ? pending : GetInnerAsync(strand, io, cancellationToken);

    /// <summary>Opens a strand (or finishes <paramref name="opening"/> it); returns the strand fault that kept it closed.</summary>
    private async ValueTask<Exception?> TryOpenAsync(HelixDataSource dataSource, Strand strand, ValueTask<DbConnection>? opening, IOBehavior io, CancellationToken cancellationToken)
    {
        try
        {
            await OpeningOf(strand, opening, io, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException e) when (CallerCancellation.Is(e, cancellationToken))
        {
            throw;
        }
        catch (Exception e)
        {
            if (dataSource.Classifier.Classify(e) == HelixErrorKind.StatementError)
            {
                ExceptionDispatchInfo.Capture(e).Throw(); // a client-side refusal (bad option): every strand would refuse
            }

            dataSource.Reads!.OpenFaulted(strand, e);
            return e;
        }
    }

    internal void ThrowIfNotOpen(string operation)
    {
        if (_state != ConnectionState.Open)
        {
            ThrowNotOpen(operation);
        }
    }

    /// <summary>The check of a command's execution: the name of its method is looked up only when it throws.</summary>
    internal void ThrowIfNotOpen(Operation operation)
    {
        if (_state != ConnectionState.Open)
        {
            ThrowNotOpen(operation.MethodName());
        }
    }

    // The throws of the checks every command makes live out of line, so that the checks themselves are inlined.
    [DoesNotReturn]
    private static HelixDataSource ThrowNoConnectionString() => throw new InvalidOperationException("The ConnectionString property has not been initialized.");

    [DoesNotReturn]
    private void ThrowNotOpen(string operation) => throw new InvalidOperationException($"{operation} requires an open connection; the connection's current state is {_state}.");
}
