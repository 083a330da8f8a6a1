using System.Data.Common;
using Helix.Data.Internal;
using Helix.Data.Internal.Execution;
using Helix.Data.Replay;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// An EF Core command as the engine sees it (<see cref="IStatement"/>): EF built a native command of the strands'
/// provider (its parameters typed by EF's mappings); each strand runs its own copy of it, and the strand's native reader
/// goes back to EF as it is, since EF's providers read their own reader types.
/// </summary>
internal sealed class EfStatement(DbCommand native, EfSession session, bool inTransaction, bool schemaChange, bool checksToken = false, bool readsToken = false) : IStatement
{
    // The strand that checks the command's xmin token (ServerTokens); the others run the command without the check.
    private Strand? _checking;

    // The command's text without its token comparisons: for the strands that do not check, and for replay.
    private string TextWithoutCheck => field ??= ServerTokens.WithoutCheck(native.CommandText);

    public bool ChecksServerToken => checksToken;

    public bool ReadsServerToken => readsToken;

    public void CheckOn(Strand strand) => _checking = strand;

    /// <summary>Gets a value indicating whether EF runs the command for migrations or <c>EnsureCreated</c> (its migration lock, <c>LOCK TABLE</c> on PostgreSQL, its DDL and history).</summary>
    public bool IsSchemaChange => schemaChange;

    public string CommandText => native.CommandText;

    public bool IsBatch => false;

    public int CommandTimeout => native.CommandTimeout;

    public bool Prepared => false;

    /// <summary>Gets a value indicating whether the command runs in the session's Helix transaction (EF gave it one).</summary>
    public bool TransactionSet => inTransaction;

    public HelixTransaction? CreatedIn => null;

    private DbParameter[]? _parameters;

    // EF's parameters, read once: a write asks for them to check, copy and record.
    private DbParameter[] Parameters => _parameters ??= [.. native.Parameters.Cast<DbParameter>()];

    /// <summary>
    /// EF's own command where it runs on EF's own connection (which the session's Helix connection borrows while EF holds
    /// no transaction on it); elsewhere a copy: EF's parameters belong to its command's collection, which a provider
    /// does not share. Never for a hedged attempt (<paramref name="useOriginals"/> false): two attempts must not share a command.
    /// </summary>
    public DbCommand CreateInner(DbConnection connection, Strand strand, bool useOriginals, in Execution execution, DbParameter[]? copies, DbTransaction? transaction, out bool detach)
    {
        detach = false;
        var withoutCheck = checksToken && _checking is not null && strand != _checking;
        if (useOriginals && transaction is null && ReferenceEquals(connection, native.Connection) && !withoutCheck)
        {
            return native;
        }

        var inner = connection.CreateCommand();
        inner.CommandText = withoutCheck ? TextWithoutCheck : native.CommandText;
        inner.CommandType = native.CommandType;
        inner.CommandTimeout = native.CommandTimeout;
        foreach (var parameter in copies ?? CopyParametersFor(strand, in execution))
        {
            inner.Parameters.Add(parameter);
        }

        inner.Transaction = transaction;
        return inner;
    }

    public DbParameter[] CopyParametersFor(Strand strand, in Execution execution) =>
        [.. Parameters.Select(p => ParameterCopier.CopyFor(p, strand.Factory, ownValue: false))];

    /// <summary>EF Core's SQLite and PostgreSQL providers use no output parameters: results come back in readers.</summary>
    public ((int Index, object? Value)[]? Outputs, int[]? BatchCounts) CaptureOutputs(DbCommand inner) => (null, null);

    /// <summary>Disposes a copy; EF's own command is EF's to dispose.</summary>
    public void Release(DbCommand inner, bool detach)
    {
        if (!ReferenceEquals(inner, native))
        {
            inner.Dispose();
        }
    }

    public void ThrowIfQueueCannotStore(HelixReplayQueue? queue)
    {
        foreach (var parameter in Parameters)
        {
            if (queue is not null && !queue.CanStore(parameter.Value))
            {
                HelixReplaySerializer.ThrowIfCannotStore(parameter.ParameterName, parameter.Value);
                throw new NotSupportedException($"Parameter '{parameter.ParameterName}' has a value that the replay queue ({queue.GetType().Name}) cannot store, so the write was refused before anything ran.");
            }
        }
    }

    /// <summary>Recorded as EF wrote it; a write that checks an xmin token without the check: replayed in order, it follows the strand that checked it.</summary>
    public IEnumerable<RecordedStatement> Record(in Execution execution, IEnumerable<Strand> strands, int strandCount) =>
        [RecordedStatement.Capture(checksToken ? TextWithoutCheck : native.CommandText, native.CommandType, native.CommandTimeout, Parameters, null, strands, strandCount)];

    /// <summary>A reader goes to EF unwrapped; its inner command is released when EF disposes it (<see cref="EfSession.ReaderDisposed"/>).</summary>
    public object? Deliver(in StrandResult result, Action<DbDataReader>? onReaderClosed)
    {
        if (result.Value is DbDataReader reader)
        {
            session.ReaderOpened(reader, this, result.Command!, result.Strand.Index, onReaderClosed);
        }

        return result.Value;
    }
}
