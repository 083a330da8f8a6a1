namespace Helix.Data.Internal;

/// <summary>
/// A few objects kept for reuse by every thread: a slot is taken or filled with one atomic exchange, without a lock or an
/// allocation. An object offered when every slot is full is not kept.
/// </summary>
/// <typeparam name="T">The objects kept.</typeparam>
/// <param name="size">How many objects are kept at most.</param>
internal sealed class SlotPool<T>(int size)
    where T : class
{
    // Slots are structs: taking a reference to an element of a T[] costs a covariance check per access (T could be
    // stored in an array of a type derived from T[]); an array of structs has none.
    private readonly Slot[] _slots = new Slot[size];

    /// <summary>Gets the size of a pool that suits this machine: a few objects per processor.</summary>
    public static int DefaultSize => Math.Min(64, Environment.ProcessorCount * 4);

    /// <summary>Takes a kept object out of the pool.</summary>
    /// <returns>The object, or <see langword="null"/> when none is kept.</returns>
    public T? Rent()
    {
        var slots = _slots;
        for (var i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i].Item) is not null && Interlocked.Exchange(ref slots[i].Item, null) is { } item)
            {
                return item;
            }
        }

        return null;
    }

    /// <summary>Keeps an object for a later <see cref="Rent"/>.</summary>
    /// <param name="item">The object; nobody else may use it from now on.</param>
    /// <returns><see langword="false"/> when every slot is full and the object was not kept.</returns>
    public bool Return(T item)
    {
        var slots = _slots;
        for (var i = 0; i < slots.Length; i++)
        {
            if (Interlocked.CompareExchange(ref slots[i].Item, item, null) is null)
            {
                return true;
            }
        }

        return false;
    }

    private struct Slot
    {
        public T? Item;
    }
}
