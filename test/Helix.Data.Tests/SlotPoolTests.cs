namespace Helix.Data.Tests;

/// <summary>The slots behind kept inner connections and pooled readers.</summary>
public class SlotPoolTests
{
    private sealed class Item
    {
        public int InUse;
    }

    [Test]
    public void What_is_returned_is_rented_again_and_a_full_pool_refuses_more()
    {
        var pool = new Helix.Data.Internal.SlotPool<Item>(2);
        var (a, b, c) = (new Item(), new Item(), new Item());
        Assert.Multiple(() =>
        {
            Assert.That(pool.Rent(), Is.Null, "empty");
            Assert.That(pool.Return(a), Is.True);
            Assert.That(pool.Return(b), Is.True);
            Assert.That(pool.Return(c), Is.False, "two slots");
        });

        var rented = new[] { pool.Rent(), pool.Rent() };
        Assert.Multiple(() =>
        {
            Assert.That(rented, Is.EquivalentTo(new[] { a, b }));
            Assert.That(pool.Rent(), Is.Null, "each kept object is rented once");
        });
    }

    [Test]
    public async Task Threads_renting_and_returning_at_once_never_hold_the_same_object()
    {
        var pool = new Helix.Data.Internal.SlotPool<Item>(1); // one slot: every thread contends for it
        var shared = 0;
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 100_000; i++)
            {
                var item = pool.Rent() ?? new Item();
                if (Interlocked.Exchange(ref item.InUse, 1) != 0)
                {
                    Interlocked.Increment(ref shared);
                }

                Thread.SpinWait(i % 7);
                Volatile.Write(ref item.InUse, 0);
                pool.Return(item);
            }
        }));
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(shared, Is.Zero, "an object was rented while another thread held it");
    }
}

