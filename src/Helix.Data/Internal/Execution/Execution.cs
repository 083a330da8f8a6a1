using System.Data;
using System.Diagnostics;
using Helix.Data.Strategies;

namespace Helix.Data.Internal.Execution;

/// <summary>
/// One execution of a statement: what runs, on which connection, how (operation, behavior, synchronous or not), what it
/// was classified as, its write timestamp, and its span and start (for metrics). Made once per call and passed by
/// reference down the engine.
/// </summary>
internal readonly struct Execution(
    IStatement statement,
    HelixConnection connection,
    HelixDataSource dataSource,
    Operation operation,
    CommandBehavior behavior,
    SqlTextInfo text,
    bool isWrite,
    long timestamp,
    IOBehavior io,
    Activity? activity,
    long? started,
    CancellationToken cancellationToken,
    bool insidePipeline = false)
{
    public IStatement Statement { get; } = statement;

    public HelixConnection Connection { get; } = connection;

    public HelixDataSource DataSource { get; } = dataSource;

    public Operation Operation { get; } = operation;

    public CommandBehavior Behavior { get; } = behavior;

    /// <summary>Gets what the classifier found: whether the text writes, and the name it gives <c>helix_ts</c>.</summary>
    public SqlTextInfo Text { get; } = text;

    public bool IsWrite { get; } = isWrite;

    /// <summary>Gets the write timestamp bound to <c>helix_ts</c> and kept in replay entries (0 when none is needed).</summary>
    public long Timestamp { get; } = timestamp;

    public IOBehavior Io { get; } = io;

    /// <summary>Gets the command's span, or <see langword="null"/> when nobody listens.</summary>
    public Activity? Activity { get; } = activity;

    /// <summary>Gets when the execution started, when the command-duration metric is listened to.</summary>
    public long? Started { get; } = started;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Gets a value indicating whether this run is the strand pipeline's own call (<see cref="StrandPipeline"/>), which runs the statement itself.</summary>
    public bool InsidePipeline { get; } = insidePipeline;

    /// <summary>
    /// Gets the order a write runs on the strands in: first on a strand a reader of the connection still reads (contract
    /// amendment 38: a provider that refuses a command beside an open reader refuses it there, before any strand applied
    /// it), primary first for a schema change (<see cref="IStatement.IsSchemaChange"/>), else the write strategy's.
    /// </summary>
    public HelixWriteOrder WriteOrder =>
        Connection.OrderForOpenReader
        ?? (Statement.IsSchemaChange ? HelixWriteOrder.PrimaryFirst : DataSource.Configuration.WriteStrategy.GetOrder(DataSource.StrandView!));

    /// <summary>The same execution under another token: one attempt of a hedged read, which the race may cancel alone.</summary>
    public Execution WithCancellation(CancellationToken token) =>
        new(Statement, Connection, DataSource, Operation, Behavior, Text, IsWrite, Timestamp, Io, Activity, Started, token, InsidePipeline);

    /// <summary>The same execution as the strand pipeline runs it: under the pipeline's token, and not through the pipeline again.</summary>
    public Execution EnteringPipeline(CancellationToken token) =>
        new(Statement, Connection, DataSource, Operation, Behavior, Text, IsWrite, Timestamp, Io, Activity, Started, token, insidePipeline: true);
}
