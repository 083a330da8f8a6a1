namespace Helix.Data.Internal;

/// <summary>Picks the strand a read goes to (contract section 6). Only healthy strands are picked.</summary>
internal abstract class ReadRouter
{
    protected ReadRouter(Strand[] strands) => Strands = strands;

    protected Strand[] Strands { get; }

    public static ReadRouter Create(HelixReadStrategy strategy, Strand[] strands, HelixStrand? preferred, TimeSpan cooldown, TimeProvider timeProvider) =>
        strands.Length == 1 ? new PrimaryOnlyRouter(strands)
        : strategy switch
        {
            HelixReadStrategy.PrimaryOnly => new PrimaryOnlyRouter(strands),
            HelixReadStrategy.RoundRobin => new RoundRobinRouter(strands),
            _ => new StickyRouter(strands, preferred, cooldown, timeProvider),
        };

    /// <summary>Returns the healthy strand to read from, or <see langword="null"/> when no strand is healthy.</summary>
    public abstract Strand? Pick();

    /// <summary>Returns the strand the next read would most likely use, without moving round-robin or sticky state.</summary>
    public virtual Strand? Peek() => Pick();

    /// <summary>A read on the strand had a strand fault.</summary>
    public virtual void OnFault(Strand strand)
    {
    }

    /// <summary>The strand a read falls back to when no strand is healthy: catching up, then failed, then draining.</summary>
    public Strand LastResort(Strand? exclude)
    {
        Strand? best = null;
        foreach (var strand in Strands)
        {
            if (strand != exclude && (best is null || Rank(strand.State) < Rank(best.State)))
            {
                best = strand;
            }
        }

        return best ?? exclude!;

        static int Rank(HelixStrandState state) => state switch
        {
            HelixStrandState.Healthy => 0,
            HelixStrandState.CatchingUp => 1,
            HelixStrandState.Failed => 2,
            _ => 3,
        };
    }

    /// <summary>The strand to try after a fault on <paramref name="failed"/>: the other one, healthy or not.</summary>
    public Strand? Alternative(Strand failed) => Strands.Length == 1 ? null : Strands[1 - failed.Index];

    private sealed class PrimaryOnlyRouter(Strand[] strands) : ReadRouter(strands)
    {
        public override Strand? Pick()
        {
            foreach (var strand in Strands)
            {
                if (strand.IsHealthy)
                {
                    return strand;
                }
            }

            return null;
        }
    }

    private sealed class RoundRobinRouter(Strand[] strands) : ReadRouter(strands)
    {
        private uint _next;

        public override Strand? Pick()
        {
            var start = (int)(Interlocked.Increment(ref _next) % 2);
            return Strands[start].IsHealthy ? Strands[start] : Strands[1 - start].IsHealthy ? Strands[1 - start] : null;
        }

        public override Strand? Peek()
        {
            var start = (int)((Volatile.Read(ref _next) + 1) % 2);
            return Strands[start].IsHealthy ? Strands[start] : Strands[1 - start].IsHealthy ? Strands[1 - start] : null;
        }
    }

    /// <summary>
    /// Reads stay on one strand per data source. When it is not healthy, reads go to the other strand and the choice
    /// moves there, unless it moved less than the cooldown ago: then only the reads move, and they come back when the
    /// chosen strand is healthy again. So a flapping strand cannot bounce the choice back and forth.
    /// </summary>
    private sealed class StickyRouter : ReadRouter
    {
        private readonly TimeSpan _cooldown;
        private readonly TimeProvider _timeProvider;
        private readonly Lock _lock = new();
        private int _current;
        private long? _switchedAt;

        public StickyRouter(Strand[] strands, HelixStrand? preferred, TimeSpan cooldown, TimeProvider timeProvider)
            : base(strands)
        {
            _cooldown = cooldown;
            _timeProvider = timeProvider;
            _current = preferred is { } p ? (int)p : Random.Shared.Next(2);
        }

        public override Strand? Pick()
        {
            var current = Strands[Volatile.Read(ref _current)];
            if (current.IsHealthy)
            {
                return current;
            }

            var other = Strands[1 - current.Index];
            if (!other.IsHealthy)
            {
                return null;
            }

            TrySwitch(current, other);
            return other;
        }

        public override void OnFault(Strand strand)
        {
            if (Volatile.Read(ref _current) == strand.Index)
            {
                TrySwitch(strand, Strands[1 - strand.Index]);
            }
        }

        private void TrySwitch(Strand from, Strand to)
        {
            lock (_lock)
            {
                var now = _timeProvider.GetTimestamp();
                if (_current != from.Index || (_switchedAt is { } at && _timeProvider.GetElapsedTime(at, now) < _cooldown))
                {
                    return;
                }

                _current = to.Index;
                _switchedAt = now;
            }
        }
    }
}
