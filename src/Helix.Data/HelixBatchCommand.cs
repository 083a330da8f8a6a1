using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;

namespace Helix.Data;

/// <summary>One command of a <see cref="HelixBatch"/>.</summary>
public sealed class HelixBatchCommand : DbBatchCommand
{
    private string _commandText = string.Empty;

    /// <summary>Initializes a new instance of the <see cref="HelixBatchCommand"/> class.</summary>
    public HelixBatchCommand()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="HelixBatchCommand"/> class with a text.</summary>
    /// <param name="commandText">The SQL text.</param>
    public HelixBatchCommand(string commandText)
    {
        CommandText = commandText;
    }

    /// <inheritdoc />
    [AllowNull]
    public override string CommandText
    {
        get => _commandText;
        set => _commandText = value ?? string.Empty;
    }

    /// <inheritdoc />
    public override CommandType CommandType { get; set; } = CommandType.Text;

    /// <summary>Gets the rows this command affected on the strand whose result the batch returned.</summary>
    public override int RecordsAffected => RecordsAffectedValue;

    /// <summary>Gets the parameters of the command; each strand gets copies made with its own provider.</summary>
    public new HelixParameterCollection Parameters { get; } = new();

    /// <inheritdoc />
    public override bool CanCreateParameter => true;

    /// <inheritdoc />
    protected override DbParameterCollection DbParameterCollection => Parameters;

    internal int RecordsAffectedValue { get; set; } = -1;

    /// <summary>Creates a provider-neutral <see cref="HelixParameter"/>; add a provider's own parameter for provider-specific settings.</summary>
    /// <returns>A new parameter, not yet added.</returns>
    public override DbParameter CreateParameter() => new HelixParameter();
}
