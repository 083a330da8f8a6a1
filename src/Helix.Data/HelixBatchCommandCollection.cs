using System.Data.Common;

namespace Helix.Data;

/// <summary>The commands of a <see cref="HelixBatch"/>.</summary>
public sealed class HelixBatchCommandCollection : DbBatchCommandCollection
{
    private readonly List<HelixBatchCommand> _commands = [];

    internal HelixBatchCommandCollection()
    {
    }

    /// <inheritdoc />
    public override int Count => _commands.Count;

    /// <inheritdoc />
    public override bool IsReadOnly => false;

    /// <summary>Gets or sets the command at an index.</summary>
    /// <param name="index">The zero-based index.</param>
    /// <returns>The command.</returns>
    public new HelixBatchCommand this[int index]
    {
        get => _commands[index];
        set => _commands[index] = value ?? throw new ArgumentNullException(nameof(value));
    }

    internal IReadOnlyList<HelixBatchCommand> Items => _commands;

    /// <inheritdoc />
    public override void Add(DbBatchCommand item) => _commands.Add(Cast(item));

    /// <inheritdoc />
    public override void Clear() => _commands.Clear();

    /// <inheritdoc />
    public override bool Contains(DbBatchCommand item) => item is HelixBatchCommand command && _commands.Contains(command);

    /// <inheritdoc />
    public override void CopyTo(DbBatchCommand[] array, int arrayIndex)
    {
        ArgumentNullException.ThrowIfNull(array);
        for (var i = 0; i < _commands.Count; i++)
        {
            array[arrayIndex + i] = _commands[i];
        }
    }

    /// <inheritdoc />
    public override IEnumerator<DbBatchCommand> GetEnumerator() => _commands.GetEnumerator();

    /// <inheritdoc />
    public override int IndexOf(DbBatchCommand item) => item is HelixBatchCommand command ? _commands.IndexOf(command) : -1;

    /// <inheritdoc />
    public override void Insert(int index, DbBatchCommand item) => _commands.Insert(index, Cast(item));

    /// <inheritdoc />
    public override bool Remove(DbBatchCommand item) => item is HelixBatchCommand command && _commands.Remove(command);

    /// <inheritdoc />
    public override void RemoveAt(int index) => _commands.RemoveAt(index);

    /// <inheritdoc />
    protected override DbBatchCommand GetBatchCommand(int index) => _commands[index];

    /// <inheritdoc />
    protected override void SetBatchCommand(int index, DbBatchCommand batchCommand) => _commands[index] = Cast(batchCommand);

    private static HelixBatchCommand Cast(DbBatchCommand command) => command as HelixBatchCommand
        ?? throw new ArgumentException($"A HelixBatch holds HelixBatchCommand objects, not {command?.GetType().Name ?? "null"}.", nameof(command));
}
