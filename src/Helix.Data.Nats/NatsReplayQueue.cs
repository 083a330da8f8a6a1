using System.Collections.Concurrent;
using Helix.Data.Internal;
using Helix.Data.Replay;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace Helix.Data.Nats;

/// <summary>
/// A durable replay queue on NATS JetStream (<c>Replay=nats://host:port</c>), shared by a fleet: every process
/// publishes its entries to one stream, and a worker (in one process, or the replay service) applies them.
/// </summary>
/// <remarks>
/// <para>
/// Each entry is published to <c>{prefix}.{high|low}.{strand}</c> with its id as the message id, and the publish
/// acknowledgment is awaited before the write is acknowledged; a publish retried within the duplicate window is stored
/// once. One durable pull consumer per strand and priority (a single filter subject each, as NATS 2.9 wants) delivers
/// the entries in order; an entry is acknowledged after it is applied. When the strand faults, the entries are given
/// back: the queue keeps them and hands them out again first, in order, telling the server they are still in progress
/// (a negative acknowledgment would let newer entries overtake them). A fault never counts as an attempt, and consumers
/// deliver without limit, so an outage of any length loses nothing while the stream has room. A worker that starts
/// after one that ended with entries in hand recreates its consumers, so that delivery resumes from the oldest entry.
/// </para>
/// <para>Run one worker per stream: two workers on the same consumers would share its entries and break their order.</para>
/// </remarks>
public sealed partial class NatsReplayQueue : HelixDurableReplayQueue
{
    private const string High = "high";
    private const string Low = "low";

    private static readonly AckOpts ConfirmedAck = new() { DoubleAck = true };
    private readonly NatsConnection _connection;
    private readonly bool _ownsConnection;
    private readonly NatsReplayQueueOptions _options;
    private readonly PriorityScheduler _scheduler;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<Guid, INatsJSMsg<byte[]>> _leased = new();
    private readonly List<(HelixReplayEntry Entry, INatsJSMsg<byte[]> Message)>[] _held = [[], []];
    private NatsJSContext? _js;
    private INatsKVStore? _intents;
    private INatsJSConsumer[][]? _consumers;
    private string[] _strandNames = ["primary", "secondary"];

    /// <summary>Initializes a new instance of the <see cref="NatsReplayQueue"/> class on a connection the application owns.</summary>
    /// <param name="connection">The NATS connection; the queue does not dispose it.</param>
    /// <param name="options">Settings, or <see langword="null"/> for the defaults.</param>
    public NatsReplayQueue(NatsConnection connection, NatsReplayQueueOptions? options = null)
        : this(connection, options, ownsConnection: false)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="NatsReplayQueue"/> class that connects to a server itself.</summary>
    /// <param name="url">The server, such as <c>nats://127.0.0.1:4222</c>.</param>
    /// <param name="options">Settings, or <see langword="null"/> for the defaults.</param>
    public NatsReplayQueue(string url, NatsReplayQueueOptions? options = null)
        : this(new NatsConnection(new NatsOpts { Url = url, Name = "helix-data" }), options, ownsConnection: true)
    {
    }

    private NatsReplayQueue(NatsConnection connection, NatsReplayQueueOptions? options, bool ownsConnection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _ownsConnection = ownsConnection;
        _options = (options ?? new NatsReplayQueueOptions()).Validated();
        _scheduler = new PriorityScheduler(_options.PriorityRatio, _options.StrictPriority);
    }

    /// <inheritdoc />
    public override async ValueTask<long> GetBacklogAsync(HelixStrand strand, CancellationToken cancellationToken = default)
    {
        if (_consumers is null)
        {
            return GetBacklog(strand);
        }

        await RefreshBacklogAsync((int)strand, cancellationToken).ConfigureAwait(false);
        return GetBacklog(strand);
    }

    /// <inheritdoc />
    /// <exception cref="TimeoutException">The entry was not stored within the publish timeout.</exception>
    public override async ValueTask EnqueueAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var data = HelixReplaySerializer.Serialize(entry);
        var ack = await WithinPublishTimeoutAsync(
            "store the entry",
            token => _js!.PublishAsync(Subject(entry.Priority, (int)entry.Strand), data, opts: new NatsJSPubOpts { MsgId = entry.Id.ToString("N") }, cancellationToken: token),
            cancellationToken).ConfigureAwait(false);
        if (ack.Duplicate)
        {
            return; // published before, within the duplicate window: stored once
        }

        ack.EnsureSuccess();
        IncrementBacklog(entry.Strand);
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<HelixReplayEntry>> ReadAsync(HelixStrand strand, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var consumers = _consumers ?? throw new InvalidOperationException("The queue reads entries once the data source has initialized it.");

        // Entries given back come first, in order, and are not fetched again: a negative acknowledgment would let
        // newer entries be delivered before their redelivery. The server is told they are still being worked on.
        var held = Held(strand, maxCount);
        if (held.Count > 0)
        {
            foreach (var (entry, message) in held)
            {
                await message.AckProgressAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                _leased[entry.Id] = message;
            }

            return [.. held.Select(h => h.Entry)];
        }

        foreach (var priority in _scheduler.Order(strand))
        {
            var entries = new List<HelixReplayEntry>();
            await foreach (var message in consumers[(int)strand][(int)priority].FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = maxCount }, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var entry = Context.Deserialize(message.Data ?? []);
                if (_leased.TryAdd(entry.Id, message))
                {
                    entries.Add(entry);
                }
            }

            if (entries.Count > 0)
            {
                _scheduler.Read(strand, priority);
                return entries;
            }
        }

        await RefreshBacklogAsync((int)strand, cancellationToken).ConfigureAwait(false);
        return [];
    }

    /// <summary>
    /// Acknowledges an applied entry and waits for the server to confirm it (a double ack), so that the backlog read
    /// right after this call no longer counts it and a lost acknowledgment is seen as an error, not as a redelivery later.
    /// </summary>
    /// <param name="entry">The applied entry.</param>
    /// <param name="cancellationToken">Cancels the wait for the confirmation.</param>
    public override ValueTask CompleteAsync(HelixReplayEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return CompleteAsync([entry], cancellationToken); // a batch of one: its only ack is the confirmed one
    }

    /// <summary>
    /// Acknowledges a batch of applied entries: every acknowledgment is sent at once and only the last one per consumer
    /// (strand and priority) waits for the server's confirmation. A consumer handles its acknowledgments in order, so
    /// that confirmation covers the ones before it at the cost of one round trip per batch, not per entry.
    /// </summary>
    /// <param name="entries">The applied entries, in the order they were applied.</param>
    /// <param name="cancellationToken">Cancels the wait for the confirmation.</param>
    public override async ValueTask CompleteAsync(IReadOnlyList<HelixReplayEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var leased = new List<(HelixReplayEntry Entry, INatsJSMsg<byte[]> Message)>(entries.Count);
        foreach (var entry in entries)
        {
            _scheduler.Completed(entry);
            if (_leased.TryRemove(entry.Id, out var message))
            {
                leased.Add((entry, message));
            }
        }

        var confirm = new bool[leased.Count];
        var seen = new HashSet<(HelixStrand, HelixReplayPriority)>();
        for (var i = leased.Count - 1; i >= 0; i--)
        {
            confirm[i] = seen.Add((leased[i].Entry.Strand, leased[i].Entry.Priority));
        }

        for (var i = 0; i < leased.Count; i++)
        {
            var (entry, message) = leased[i];
            await message.AckAsync(confirm[i] ? ConfirmedAck : null, cancellationToken).ConfigureAwait(false);
            DecrementBacklog(entry.Strand);
        }
    }

    /// <inheritdoc />
    public override ValueTask ReleaseAsync(IReadOnlyList<HelixReplayEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var group in entries.GroupBy(e => e.Strand))
        {
            var held = _held[(int)group.Key];
            lock (held)
            {
                held.InsertRange(0, group.Where(e => _leased.ContainsKey(e.Id)).Select(e => (e, _leased[e.Id])));
            }

            foreach (var entry in group)
            {
                _leased.TryRemove(entry.Id, out _);
            }
        }

        return default;
    }

    /// <inheritdoc />
    public override async ValueTask<long> DiscardBacklogAsync(HelixStrand strand, CancellationToken cancellationToken = default)
    {
        var purged = 0L;
        await WithinPublishTimeoutAsync(
            "discard the strand's backlog",
            async token =>
            {
                foreach (var priority in new[] { HelixReplayPriority.High, HelixReplayPriority.Low })
                {
                    var response = await _js!.PurgeStreamAsync(_options.StreamName, new StreamPurgeRequest { Filter = Subject(priority, (int)strand) }, token).ConfigureAwait(false);
                    purged += (long)response.Purged;
                }

                return purged;
            },
            cancellationToken).ConfigureAwait(false);

        var held = _held[(int)strand];
        lock (held)
        {
            held.Clear();
        }

        foreach (var (id, message) in _leased)
        {
            if (message.Subject.EndsWith("." + _strandNames[(int)strand], StringComparison.Ordinal))
            {
                _leased.TryRemove(id, out _);
            }
        }

        if (_consumers is not null)
        {
            await RefreshBacklogAsync((int)strand, cancellationToken).ConfigureAwait(false);
        }

        return purged;
    }

    /// <summary>
    /// Runs an operation on the server once the queue is initialized, within the publish timeout: a server that does not
    /// answer in time is reported as a <see cref="TimeoutException"/>, never as a cancellation the caller did not ask for.
    /// </summary>
    private async ValueTask<T> WithinPublishTimeoutAsync<T>(string what, Func<CancellationToken, ValueTask<T>> operation, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PublishTimeout);
        try
        {
            await _ready.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
            return await operation(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The NATS replay queue could not {what} within {_options.PublishTimeout.TotalSeconds:0.#} s ({(_ready.Task.IsCompleted ? "the server did not answer" : "the queue is not initialized yet")}).");
        }
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        _ready.TrySetCanceled();
        if (_ownsConnection)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    private List<(HelixReplayEntry Entry, INatsJSMsg<byte[]> Message)> Held(HelixStrand strand, int maxCount)
    {
        var held = _held[(int)strand];
        lock (held)
        {
            var taken = held.Take(maxCount).ToList();
            held.RemoveRange(0, taken.Count);
            return taken;
        }
    }

    private static string Name(HelixReplayPriority priority) => priority == HelixReplayPriority.High ? High : Low;

    private string Subject(HelixReplayPriority priority, int strand) => $"{_options.SubjectPrefix}.{Name(priority)}.{_strandNames[strand]}";

    /// <summary>Reads the strand's backlog from its consumers: entries not delivered yet plus those delivered and not acknowledged.</summary>
    private async ValueTask RefreshBacklogAsync(int strand, CancellationToken cancellationToken)
    {
        long total = 0;
        foreach (var consumer in _consumers![strand])
        {
            await consumer.RefreshAsync(cancellationToken).ConfigureAwait(false);
            total += (long)consumer.Info.NumPending + consumer.Info.NumAckPending;
        }

        SetBacklog((HelixStrand)strand, total);
    }
}
