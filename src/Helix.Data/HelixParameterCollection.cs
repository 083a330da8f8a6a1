using System.Collections;
using System.Data.Common;

namespace Helix.Data;

/// <summary>
/// The parameters of a <see cref="HelixCommand"/>. It holds any <see cref="DbParameter"/>: the primary provider's own
/// (as <see cref="HelixCommand.CreateParameter"/> returns them), <see cref="HelixParameter"/>, or another provider's.
/// </summary>
public sealed class HelixParameterCollection : DbParameterCollection
{
    private readonly List<DbParameter> _items = [];

    internal HelixParameterCollection()
    {
    }

    /// <inheritdoc />
    public override int Count => _items.Count;

    /// <inheritdoc />
    public override object SyncRoot => ((ICollection)_items).SyncRoot;

    /// <summary>Gets or sets the parameter at an index.</summary>
    /// <param name="index">The zero-based index.</param>
    /// <returns>The parameter.</returns>
    public new DbParameter this[int index]
    {
        get => _items[index];
        set => _items[index] = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Gets or sets the parameter with a name.</summary>
    /// <param name="parameterName">The name, with or without its prefix.</param>
    /// <returns>The parameter.</returns>
    public new DbParameter this[string parameterName]
    {
        get => GetParameter(parameterName);
        set => SetParameter(parameterName, value);
    }

    /// <summary>Adds a parameter.</summary>
    /// <param name="value">The parameter.</param>
    /// <returns>The parameter, for chaining.</returns>
    public DbParameter Add(DbParameter value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _items.Add(value);
        return value;
    }

    /// <summary>Adds a provider-neutral <see cref="HelixParameter"/> with a name and a value.</summary>
    /// <param name="parameterName">The name, with or without the prefix the SQL text uses.</param>
    /// <param name="value">The value.</param>
    /// <returns>The new parameter.</returns>
    public HelixParameter AddWithValue(string parameterName, object? value)
    {
        var parameter = new HelixParameter(parameterName, value);
        _items.Add(parameter);
        return parameter;
    }

    /// <inheritdoc />
    public override int Add(object value)
    {
        _items.Add(Cast(value));
        return _items.Count - 1;
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
    public override void Clear() => _items.Clear();

    /// <inheritdoc />
    public override bool Contains(object value) => value is DbParameter p && _items.Contains(p);

    /// <inheritdoc />
    public override bool Contains(string value) => IndexOf(value) >= 0;

    /// <inheritdoc />
    public override void CopyTo(Array array, int index) => ((ICollection)_items).CopyTo(array, index);

    /// <inheritdoc />
    public override IEnumerator GetEnumerator() => _items.GetEnumerator();

    /// <inheritdoc />
    public override int IndexOf(object value) => value is DbParameter p ? _items.IndexOf(p) : -1;

    /// <inheritdoc />
    public override int IndexOf(string parameterName)
    {
        for (var i = 0; i < _items.Count; i++)
        {
            if (string.Equals(_items[i].ParameterName, parameterName, StringComparison.Ordinal))
            {
                return i;
            }
        }

        var trimmed = Trim(parameterName);
        for (var i = 0; i < _items.Count; i++)
        {
            if (string.Equals(Trim(_items[i].ParameterName), trimmed, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    /// <inheritdoc />
    public override void Insert(int index, object value) => _items.Insert(index, Cast(value));

    /// <inheritdoc />
    public override void Remove(object value) => _items.Remove(Cast(value));

    /// <inheritdoc />
    public override void RemoveAt(int index) => _items.RemoveAt(index);

    /// <inheritdoc />
    public override void RemoveAt(string parameterName) => _items.RemoveAt(IndexOfExisting(parameterName));

    /// <inheritdoc />
    protected override DbParameter GetParameter(int index) => _items[index];

    /// <inheritdoc />
    protected override DbParameter GetParameter(string parameterName) => _items[IndexOfExisting(parameterName)];

    /// <inheritdoc />
    protected override void SetParameter(int index, DbParameter value) => _items[index] = value ?? throw new ArgumentNullException(nameof(value));

    /// <inheritdoc />
    protected override void SetParameter(string parameterName, DbParameter value) =>
        _items[IndexOfExisting(parameterName)] = value ?? throw new ArgumentNullException(nameof(value));

    internal List<DbParameter> Items => _items;

    private static string Trim(string? name) => name is { Length: > 0 } && name[0] is '@' or ':' or '$' or '?' ? name[1..] : name ?? string.Empty;

    private static DbParameter Cast(object value) => value as DbParameter
        ?? throw new InvalidCastException($"A HelixParameterCollection holds DbParameter objects, not {value?.GetType().Name ?? "null"}.");

    private int IndexOfExisting(string parameterName)
    {
        var index = IndexOf(parameterName);
#pragma warning disable CA2201 // ADO.NET parameter collections throw IndexOutOfRangeException for unknown names
        return index >= 0 ? index : throw new IndexOutOfRangeException($"No parameter named '{parameterName}' is in the collection.");
#pragma warning restore CA2201
    }
}
