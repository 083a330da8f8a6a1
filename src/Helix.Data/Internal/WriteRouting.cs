using Helix.Data.Logging;
using Helix.Data.Replay;

namespace Helix.Data.Internal;

/// <summary>
/// What every write does around its execution: route it to each strand (waiting while no strand can take it, and
/// as flow control asks), and afterwards bring it to the strands that did not apply it.
/// </summary>
internal static class WriteRouting
{
    /// <summary>
    /// Routes a write on every strand; waits while no strand can take it directly, up to <paramref name="timeout"/>;
    /// then holds the write back as long as flow control asks for a strand that is catching up.
    /// </summary>
    public static async ValueTask<WriteRoute[]> RouteAsync(HelixDataSource dataSource, TimeSpan timeout, IOBehavior io, CancellationToken cancellationToken)
    {
        var strands = dataSource.Strands;
        var routes = new WriteRoute[strands.Length];
        var started = dataSource.TimeProvider.GetTimestamp();
        var changes = new Task[strands.Length];
        var bypassHealing = false;
        TimeSpan admissionDelay;
        while (true)
        {
            admissionDelay = TimeSpan.Zero;
            for (var i = 0; i < strands.Length; i++)
            {
                routes[i] = strands[i].Controller.BeginWrite(out changes[i], out var delay, bypassHealing);
                admissionDelay = delay > admissionDelay ? delay : admissionDelay;
            }

            if (!Has(routes, WriteRoute.Wait) && Has(routes, WriteRoute.Direct))
            {
                break;
            }

            EndReservations(strands, routes);
            bypassHealing |= await WaitForWritableStrandAsync(dataSource, routes, changes, timeout, started, io, cancellationToken).ConfigureAwait(false);
        }

        ThrowIfRejectedAsFull(dataSource, routes);
        if (admissionDelay > TimeSpan.Zero)
        {
            try
            {
                await HoldBackAsync(dataSource, admissionDelay, io, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                EndReservations(strands, routes);
                throw;
            }
        }

        return routes;
    }

    /// <summary>
    /// Waits, within the write's timeout, for the strands' states to change: either a strand is about to become healthy
    /// (so no new write overtakes its backlog), or no strand is healthy (acknowledged means applied, so one must catch up).
    /// Returns true when a healing strand took longer than the healing wait: the write then queues behind it rather than
    /// keep the caller waiting.
    /// </summary>
    private static async ValueTask<bool> WaitForWritableStrandAsync(HelixDataSource dataSource, WriteRoute[] routes, Task[] changes, TimeSpan timeout, long started, IOBehavior io, CancellationToken cancellationToken)
    {
        if (dataSource.Strands.All(s => s.State is HelixStrandState.Draining or HelixStrandState.OutOfSync))
        {
            throw NoStrandTakesWrites(dataSource.Strands);
        }

        var infinite = System.Threading.Timeout.InfiniteTimeSpan;
        var remaining = timeout == infinite ? timeout : timeout - dataSource.TimeProvider.GetElapsedTime(started);
        if (remaining != infinite && remaining <= TimeSpan.Zero)
        {
            throw NoWritableStrand(dataSource, timeout);
        }

        var healing = Has(routes, WriteRoute.Wait);
        var healingWait = dataSource.Configuration.ReplayOptions.HealingWait;
        var budget = healing && (remaining == infinite || healingWait < remaining) ? healingWait : remaining;
        if (await dataSource.WaitForStateChangeAsync(changes, io, budget, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        return healing ? true : throw NoWritableStrand(dataSource, timeout);
    }

    /// <summary>With <c>Replay Full=Reject</c>, refuses a write that a strand's full replay queue could not take, before it runs.</summary>
    private static void ThrowIfRejectedAsFull(HelixDataSource dataSource, WriteRoute[] routes)
    {
        if (dataSource.Configuration.ReplayFull != HelixReplayFullPolicy.Reject || IndexOf(routes, WriteRoute.Full) is not (var full and >= 0))
        {
            return;
        }

        var strands = dataSource.Strands;
        EndReservations(strands, routes);
        var reason = $"the replay queue of strand {strands[full].Name} is full ({dataSource.Configuration.ReplayQueue!.LimitDescription}) while the strand is {strands[full].State}";
        Log.WriteRejected(dataSource.Logger, reason);
        throw new HelixException(
            $"The write was rejected before it ran: {reason}. Nothing was written. Bring the strand back, raise 'Replay Memory Limit' (or 'Replay Capacity'), or set 'Replay Full=Resync' to go on without the strand until it is resynchronised.",
            null,
            null,
            isTransient: true);
    }

    private static HelixException NoStrandTakesWrites(Strand[] strands) => new(
        "No strand can take writes: " + string.Join("; ", strands.Select(s => $"{s.Name} is {s.State}"))
        + ". An operator must undrain a drained strand, or resynchronise one that is out of sync. Nothing was written.",
        null,
        null,
        isTransient: true);

    /// <summary>The first strand routed <paramref name="route"/>, or -1 (a loop over two: no generic search per write).</summary>
    public static int IndexOf(WriteRoute[] routes, WriteRoute route)
    {
        for (var i = 0; i < routes.Length; i++)
        {
            if (routes[i] == route)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Whether some strand is routed <paramref name="route"/>.</summary>
    public static bool Has(WriteRoute[] routes, WriteRoute route) => IndexOf(routes, route) >= 0;

    /// <summary>Whether every strand is routed <paramref name="route"/>.</summary>
    public static bool AllAre(WriteRoute[] routes, WriteRoute route)
    {
        foreach (var each in routes)
        {
            if (each != route)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The timeout a command's <c>CommandTimeout</c> in seconds stands for; 0 means none.</summary>
    public static TimeSpan TimeoutOf(int seconds) => seconds == 0 ? System.Threading.Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);

    /// <summary>Ends what the routes hold of strands the write will not reach after all: reservations in the queue, and skips.</summary>
    public static void EndReservations(Strand[] strands, WriteRoute[] routes)
    {
        for (var i = 0; i < strands.Length; i++)
        {
            if (EndReservations(strands[i], routes[i]))
            {
                routes[i] = WriteRoute.Lost;
            }
        }
    }

    /// <summary>Ends what one strand's route holds; returns whether it held anything.</summary>
    public static bool EndReservations(Strand strand, WriteRoute route)
    {
        switch (route)
        {
            case WriteRoute.Queue:
                strand.Controller.EndReservation();
                return true;
            case WriteRoute.Skip:
                strand.Controller.EndSkip();
                return true;
            default:
                return false;
        }
    }

    /// <summary>Brings a write that another strand applied to a strand that was not routed directly.</summary>
    public static ValueTask SettleAsync(HelixDataSource dataSource, Strand strand, WriteRoute route, Func<HelixReplayEntry> entry, string commandText, IOBehavior io) =>
        route switch
        {
            WriteRoute.Queue => EnqueueAsync(dataSource, strand, entry(), commandText, io),
            WriteRoute.Full => Dropped(dataSource, strand, commandText, $"the replay queue is full ({dataSource.Configuration.ReplayQueue!.LimitDescription}) and Replay Full=Drop"),
            WriteRoute.Skip => EndSkip(strand),
            _ => Dropped(dataSource, strand, commandText, null),
        };

    /// <summary>A direct write that another strand applied did not reach this strand: queue it for replay.</summary>
    public static ValueTask MissedAsync(HelixDataSource dataSource, Strand strand, Func<Exception, HelixReplayEntry> entry, string commandText, Exception error, bool isFault, IOBehavior io) =>
        strand.Controller.MissedWrite(error, isFault) switch
        {
            WriteRoute.Queue => EnqueueAsync(dataSource, strand, entry(error), commandText, io),
            WriteRoute.Full => Dropped(dataSource, strand, commandText, $"the strand missed the write ({error.Message}) and its replay queue is full"),
            WriteRoute.Skip => EndSkip(strand),
            _ => Dropped(dataSource, strand, commandText, null),
        };

    /// <summary>An out-of-sync strand skips the write: the resynchronisation brings it.</summary>
    private static ValueTask EndSkip(Strand strand)
    {
        strand.Controller.EndSkip();
        return default;
    }

    /// <summary>A strand refused a write that another strand applied: replay cannot fix that; report and dead-letter it.</summary>
    public static async ValueTask RefusedAsync(HelixDataSource dataSource, Strand strand, HelixReplayEntry entry, string commandText, Exception error, IOBehavior io)
    {
        const string Reason = "refused with a statement error while another strand applied the write";
        if (dataSource.Configuration.ReplayQueue is { } queue)
        {
            if (io == IOBehavior.Synchronous)
            {
                queue.DeadLetter(entry, Reason);
            }
            else
            {
                await queue.DeadLetterAsync(entry, Reason, CancellationToken.None).ConfigureAwait(false);
            }
        }

        dataSource.Reporter.StatementRejected(strand, commandText, error, entry);
    }

    /// <summary>
    /// Records an intent: the write's entries for every strand, before it runs. A queue that cannot record it refuses the
    /// write, which has not run: the caller gets a transient <see cref="HelixException"/> (never a cancellation it did not ask for).
    /// </summary>
    public static async ValueTask<Guid> RecordIntentAsync(HelixDataSource dataSource, IReadOnlyList<HelixReplayEntry> entries, IOBehavior io)
    {
        var id = Guid.CreateVersion7(dataSource.TimeProvider.GetUtcNow());
        try
        {
            var queue = dataSource.Configuration.ReplayQueue!;
            if (io == IOBehavior.Synchronous)
            {
                queue.RecordIntent(id, entries);
            }
            else
            {
                await queue.RecordIntentAsync(id, entries, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not HelixException)
        {
            var behind = string.Join(", ", dataSource.Strands.Where(s => !s.IsHealthy).Select(s => $"{s.Name} is {s.State}"));
            var reason = $"the replay queue could not record it for the strand that is behind ({behind}): {Redactor.RedactUrls(e.Message)}";
            Log.WriteRejected(dataSource.Logger, reason);
            throw new HelixException($"The write was refused before it ran: {reason}. Nothing was written; retry once the replay queue is reachable.", null, null, isTransient: true);
        }

        return id;
    }

    /// <summary>Forgets an intent once the write has settled; a failure only delays convergence (the intent is promoted later).</summary>
    public static async ValueTask ForgetIntentAsync(HelixDataSource dataSource, Guid? intent, IOBehavior io)
    {
        if (intent is not { } id)
        {
            return;
        }

        try
        {
            var queue = dataSource.Configuration.ReplayQueue!;
            if (io == IOBehavior.Synchronous)
            {
                queue.ForgetIntent(id);
            }
            else
            {
                await queue.ForgetIntentAsync(id, CancellationToken.None).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // the intent will be promoted after the in-doubt timeout: a strand applies the write again, nothing is lost
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.IntentNotForgotten(dataSource.Logger, id, Redactor.RedactUrls(e.Message));
        }
    }

    public static HelixException NoWritableStrand(HelixDataSource dataSource, TimeSpan waited)
    {
        var status = dataSource.GetStatus();
        var describe = string.Join("; ", status.Strands.Select(s =>
            $"{s.Name} is {s.State}" + (s.Backlog > 0 ? $" with {s.Backlog} entries to replay" : string.Empty) + (s.LastError is null ? string.Empty : $" (last error: {s.LastError})")));
        return new HelixException(
            $"No strand can take writes, and none became healthy within the command timeout ({waited.TotalSeconds:0.#} s): {describe}. Nothing was written.",
            null,
            null,
            isTransient: true);
    }

    /// <summary>Enqueues an entry for which a reservation is held, and ends the reservation.</summary>
    private static async ValueTask EnqueueAsync(HelixDataSource dataSource, Strand strand, HelixReplayEntry entry, string commandText, IOBehavior io)
    {
        var queue = dataSource.Configuration.ReplayQueue!;
        try
        {
            if (io == IOBehavior.Synchronous)
            {
                queue.Enqueue(entry);
            }
            else
            {
                await queue.EnqueueAsync(entry, CancellationToken.None).ConfigureAwait(false);
            }

            HelixMetrics.ReplayEnqueued.Add(1, strand.MetricTags);
        }
#pragma warning disable CA1031 // the write is applied on another strand: the caller gets its result, the strand leaves service
        catch (Exception e)
#pragma warning restore CA1031
        {
            // The strand now misses an acknowledged write that no queue holds: it must not serve reads nor heal as if it
            // had everything. It leaves service until a resynchronisation copies the other strand, which has the write.
            strand.Controller.StoreFailed(e);
        }
        finally
        {
            strand.Controller.EndReservation();
        }
    }

    private static ValueTask Dropped(HelixDataSource dataSource, Strand strand, string commandText, string? reason)
    {
        dataSource.Reporter.Dropped(strand, commandText, reason ?? "Replay=None", null, quiet: reason is null);
        return default;
    }

    private static async ValueTask HoldBackAsync(HelixDataSource dataSource, TimeSpan delay, IOBehavior io, CancellationToken cancellationToken)
    {
        var cap = dataSource.Configuration.ReplayOptions.HealingWait;
        var wait = Task.Delay(delay < cap ? delay : cap, dataSource.TimeProvider, cancellationToken);
        if (io == IOBehavior.Synchronous)
        {
            wait.GetAwaiter().GetResult(); // a synchronous caller waits on the calling thread, as it would for I/O
        }
        else
        {
            await wait.ConfigureAwait(false);
        }
    }
}
