using System.Data;
using System.Data.Common;
using Helix.Data.Replay;

namespace Helix.Data.Internal;

/// <summary>
/// A write as it was executed: its text and, for each strand, its parameters made with that strand's provider (values
/// copied, <c>helix_ts</c> included), ready to become a statement of a replay entry for that strand.
/// </summary>
internal sealed class RecordedStatement
{
    private readonly IReadOnlyList<DbParameter>?[] _parameters;

    private RecordedStatement(string commandText, CommandType commandType, int? commandTimeout, IReadOnlyList<DbParameter>?[] parameters, HelixReplayPriority priority)
    {
        Priority = priority;
        CommandText = commandText;
        CommandType = commandType;
        CommandTimeout = commandTimeout;
        _parameters = parameters;
    }

    public string CommandText { get; }

    public CommandType CommandType { get; }

    public int? CommandTimeout { get; }

    /// <summary>Gets the replay priority the statement asked for (<see cref="HelixCommand.ReplayPriority"/>, or a <c>helix:priority</c> hint).</summary>
    public HelixReplayPriority Priority { get; }

    /// <summary>Captures a write for the given strands.</summary>
    public static RecordedStatement Capture(
        string commandText,
        CommandType commandType,
        int? commandTimeout,
        ReadOnlySpan<DbParameter> parameters,
        DbParameter? timestampTemplate,
        IEnumerable<Strand> strands,
        int strandCount,
        HelixReplayPriority priority = HelixReplayPriority.High)
    {
        var byStrand = new IReadOnlyList<DbParameter>?[strandCount];
        foreach (var strand in strands)
        {
            var copies = new List<DbParameter>(parameters.Length + 1);
            foreach (var parameter in parameters)
            {
                copies.Add(ParameterCopier.CopyFor(parameter, strand.Factory, ownValue: true));
            }

            if (timestampTemplate is not null)
            {
                copies.Add(ParameterCopier.CopyFor(timestampTemplate, strand.Factory, ownValue: false));
            }

            byStrand[strand.Index] = copies;
        }

        return new RecordedStatement(commandText, commandType, commandTimeout, byStrand, priority == HelixReplayPriority.Low ? priority : ReplayHint.PriorityOf(commandText));
    }

    public HelixReplayStatement For(Strand strand) =>
        new(CommandText, CommandType, _parameters[strand.Index] ?? throw new InvalidOperationException($"The statement was not captured for strand {strand.Name}."), CommandTimeout);

    /// <summary>
    /// Makes the replay entry that brings these statements to a strand. It is low priority only when every statement in
    /// it asked to be: one that did not keeps the whole entry (a transaction, a batch) at high priority.
    /// </summary>
    public static HelixReplayEntry Entry(HelixDataSource dataSource, Strand strand, long timestamp, IReadOnlyList<RecordedStatement> statements, bool isTransaction, Exception? error)
    {
        var now = dataSource.TimeProvider.GetUtcNow();
        return new HelixReplayEntry(
            Guid.CreateVersion7(now),
            strand.Id,
            timestamp,
            now,
            statements.Count > 0 && statements.All(s => s.Priority == HelixReplayPriority.Low) ? HelixReplayPriority.Low : HelixReplayPriority.High,
            [.. statements.Select(s => s.For(strand))],
            isTransaction,
            error is null ? null : $"{error.GetType().Name}: {error.Message}");
    }
}
