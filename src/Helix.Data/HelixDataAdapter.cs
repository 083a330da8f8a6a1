using System.Data;
using System.Data.Common;

namespace Helix.Data;

/// <summary>
/// A <see cref="DbDataAdapter"/> over Helix commands, for <see cref="DataTable"/> and <see cref="DataSet"/> code: its
/// select command is a read, its insert, update and delete commands are writes.
/// </summary>
public sealed class HelixDataAdapter : DbDataAdapter
{
    /// <summary>Initializes a new instance of the <see cref="HelixDataAdapter"/> class.</summary>
    public HelixDataAdapter()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="HelixDataAdapter"/> class with a select command.</summary>
    /// <param name="selectCommand">The command that reads the rows.</param>
    public HelixDataAdapter(HelixCommand selectCommand)
    {
        SelectCommand = selectCommand;
    }

    /// <summary>Occurs before a row is sent to the strands by <see cref="DbDataAdapter.Update(DataTable)"/>.</summary>
    public event EventHandler<RowUpdatingEventArgs>? RowUpdating;

    /// <summary>Occurs after a row was sent to the strands by <see cref="DbDataAdapter.Update(DataTable)"/>.</summary>
    public event EventHandler<RowUpdatedEventArgs>? RowUpdated;

    /// <summary>Gets or sets the command that reads the rows.</summary>
    public new HelixCommand? SelectCommand
    {
        get => (HelixCommand?)base.SelectCommand;
        set => base.SelectCommand = value;
    }

    /// <summary>Gets or sets the command that inserts new rows.</summary>
    public new HelixCommand? InsertCommand
    {
        get => (HelixCommand?)base.InsertCommand;
        set => base.InsertCommand = value;
    }

    /// <summary>Gets or sets the command that updates changed rows.</summary>
    public new HelixCommand? UpdateCommand
    {
        get => (HelixCommand?)base.UpdateCommand;
        set => base.UpdateCommand = value;
    }

    /// <summary>Gets or sets the command that deletes removed rows.</summary>
    public new HelixCommand? DeleteCommand
    {
        get => (HelixCommand?)base.DeleteCommand;
        set => base.DeleteCommand = value;
    }

    /// <inheritdoc />
    protected override void OnRowUpdating(RowUpdatingEventArgs value) => RowUpdating?.Invoke(this, value);

    /// <inheritdoc />
    protected override void OnRowUpdated(RowUpdatedEventArgs value) => RowUpdated?.Invoke(this, value);
}
