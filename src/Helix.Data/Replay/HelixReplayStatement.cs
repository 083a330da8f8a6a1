using System.Data;
using System.Data.Common;

namespace Helix.Data.Replay;

/// <summary>One statement of a <see cref="HelixReplayEntry"/>: its text, type and parameters.</summary>
public sealed class HelixReplayStatement
{
    /// <summary>Initializes a new instance of the <see cref="HelixReplayStatement"/> class.</summary>
    /// <param name="commandText">The SQL text or stored-procedure name.</param>
    /// <param name="commandType">How <paramref name="commandText"/> is interpreted.</param>
    /// <param name="parameters">The parameters, made with the target strand's provider, values as they were bound (including <c>helix_ts</c>).</param>
    /// <param name="commandTimeout">The command timeout in seconds, 0 for none, <see langword="null"/> for the provider's default.</param>
    public HelixReplayStatement(string commandText, CommandType commandType, IReadOnlyList<DbParameter> parameters, int? commandTimeout)
    {
        ArgumentNullException.ThrowIfNull(commandText);
        ArgumentNullException.ThrowIfNull(parameters);
        CommandText = commandText;
        CommandType = commandType;
        Parameters = parameters;
        CommandTimeout = commandTimeout;
    }

    /// <summary>Gets the SQL text or stored-procedure name.</summary>
    public string CommandText { get; }

    /// <summary>Gets how <see cref="CommandText"/> is interpreted.</summary>
    public CommandType CommandType { get; }

    /// <summary>Gets the parameters, made with the target strand's provider.</summary>
    public IReadOnlyList<DbParameter> Parameters { get; }

    /// <summary>Gets the command timeout in seconds; 0 means no limit, <see langword="null"/> the provider's default.</summary>
    public int? CommandTimeout { get; }
}
