using System.Collections;
using System.Data.Common;

namespace Helix.Data;

/// <summary>
/// The parameters of a <see cref="HelixCommand"/>. It holds any <see cref="DbParameter"/>: the primary provider's own
/// (as <see cref="HelixCommand.CreateParameter"/> returns them), <see cref="HelixParameter"/>, or another provider's.
/// </summary>
public sealed class HelixParameterCollection : DbParameterCollection
{
    // Most commands have a few parameters: they live in the collection object itself; more move to an array.
    private InlineParameters _inline;
    private DbParameter[]? _spilled;
    private int _count;

    internal HelixParameterCollection()
    {
    }

    /// <inheritdoc />
    public override int Count => _count;

    /// <inheritdoc />
    public override object SyncRoot => this;

    /// <summary>Gets or sets the parameter at an index.</summary>
    /// <param name="index">The zero-based index.</param>
    /// <returns>The parameter.</returns>
    public new DbParameter this[int index]
    {
        get => Items[CheckIndex(index)];
        set => Slots[CheckIndex(index)] = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Gets or sets the parameter with a name.</summary>
    /// <param name="parameterName">The name, with or without its prefix.</param>
    /// <returns>The parameter.</returns>
    public new DbParameter this[string parameterName]
    {
        get => GetParameter(parameterName);
        set => SetParameter(parameterName, value);
    }

    /// <summary>Gets the parameters, in order.</summary>
    internal ReadOnlySpan<DbParameter> Items => Slots[.._count];

    private Span<DbParameter> Slots => _spilled is null ? _inline : _spilled;

    /// <summary>Adds a parameter.</summary>
    /// <param name="value">The parameter.</param>
    /// <returns>The parameter, for chaining.</returns>
    public DbParameter Add(DbParameter value)
    {
        ArgumentNullException.ThrowIfNull(value);
        InsertAt(_count, value);
        return value;
    }

    /// <summary>Adds a provider-neutral <see cref="HelixParameter"/> with a name and a value.</summary>
    /// <param name="parameterName">The name, with or without the prefix the SQL text uses.</param>
    /// <param name="value">The value.</param>
    /// <returns>The new parameter.</returns>
    public HelixParameter AddWithValue(string parameterName, object? value)
    {
        var parameter = new HelixParameter(parameterName, value);
        InsertAt(_count, parameter);
        return parameter;
    }

    /// <inheritdoc />
    public override int Add(object value)
    {
        InsertAt(_count, Cast(value));
        return _count - 1;
    }

    /// <inheritdoc />
    public override void AddRange(Array values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var value in values)
        {
            Add(value!);
        }
    }

    /// <inheritdoc />
    public override void Clear()
    {
        Slots[.._count].Clear();
        _count = 0;
    }

    /// <inheritdoc />
    public override bool Contains(object value) => IndexOf(value) >= 0;

    /// <inheritdoc />
    public override bool Contains(string value) => IndexOf(value) >= 0;

    /// <inheritdoc />
    public override void CopyTo(Array array, int index)
    {
        ArgumentNullException.ThrowIfNull(array);
        Items.ToArray().CopyTo(array, index);
    }

    /// <inheritdoc />
    public override IEnumerator GetEnumerator() => Items.ToArray().GetEnumerator();

    /// <inheritdoc />
    public override int IndexOf(object value)
    {
        if (value is DbParameter parameter)
        {
            var items = Items;
            for (var i = 0; i < items.Length; i++)
            {
                if (ReferenceEquals(items[i], parameter))
                {
                    return i;
                }
            }
        }

        return -1;
    }

    /// <inheritdoc />
    public override int IndexOf(string parameterName)
    {
        var items = Items;
        for (var i = 0; i < items.Length; i++)
        {
            if (string.Equals(items[i].ParameterName, parameterName, StringComparison.Ordinal))
            {
                return i;
            }
        }

        var trimmed = Trim(parameterName);
        for (var i = 0; i < items.Length; i++)
        {
            if (string.Equals(Trim(items[i].ParameterName), trimmed, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    /// <inheritdoc />
    public override void Insert(int index, object value)
    {
        if ((uint)index > (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The index must be between 0 and {_count}.");
        }

        InsertAt(index, Cast(value));
    }

    /// <inheritdoc />
    public override void Remove(object value)
    {
        var index = IndexOf(Cast(value));
        if (index >= 0)
        {
            RemoveAt(index);
        }
    }

    /// <inheritdoc />
    public override void RemoveAt(int index)
    {
        var slots = Slots;
        CheckIndex(index);
        slots[(index + 1).._count].CopyTo(slots[index..]);
        slots[--_count] = null!;
    }

    /// <inheritdoc />
    public override void RemoveAt(string parameterName) => RemoveAt(IndexOfExisting(parameterName));

    /// <inheritdoc />
    protected override DbParameter GetParameter(int index) => Items[CheckIndex(index)];

    /// <inheritdoc />
    protected override DbParameter GetParameter(string parameterName) => Items[IndexOfExisting(parameterName)];

    /// <inheritdoc />
    protected override void SetParameter(int index, DbParameter value) => Slots[CheckIndex(index)] = value ?? throw new ArgumentNullException(nameof(value));

    /// <inheritdoc />
    protected override void SetParameter(string parameterName, DbParameter value) =>
        Slots[IndexOfExisting(parameterName)] = value ?? throw new ArgumentNullException(nameof(value));

    private static string Trim(string? name) => name is { Length: > 0 } && name[0] is '@' or ':' or '$' or '?' ? name[1..] : name ?? string.Empty;

    private static DbParameter Cast(object value) => value as DbParameter
        ?? throw new InvalidCastException($"A HelixParameterCollection holds DbParameter objects, not {value?.GetType().Name ?? "null"}.");

    private void InsertAt(int index, DbParameter value)
    {
        var slots = Slots;
        if (_count == slots.Length)
        {
            var grown = new DbParameter[slots.Length * 2];
            slots.CopyTo(grown);
            _spilled = grown;
            slots = grown;
        }

        if (index < _count) // not an append (every Add is): what follows moves up one
        {
            slots[index.._count].CopyTo(slots[(index + 1)..]);
        }

        slots[index] = value;
        _count++;
    }

    private int CheckIndex(int index) => (uint)index < (uint)_count
        ? index
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"The collection holds {_count} parameters.");

    private int IndexOfExisting(string parameterName)
    {
        var index = IndexOf(parameterName);
#pragma warning disable CA2201 // ADO.NET parameter collections throw IndexOutOfRangeException for unknown names
        return index >= 0 ? index : throw new IndexOutOfRangeException($"No parameter named '{parameterName}' is in the collection.");
#pragma warning restore CA2201
    }

    [System.Runtime.CompilerServices.InlineArray(4)]
    private struct InlineParameters
    {
        private DbParameter _first;
    }
}
