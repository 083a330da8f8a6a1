using Helix.Data.Internal;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Helix.Data.Nats;

/// <summary>
/// Drains strands across a fleet through a NATS key-value bucket (<c>Drain Watch=nats://host:port</c>): a key named
/// after a strand (<c>secondary</c>, or <c>{KeyPrefix}secondary</c>) drains that strand in every data source that
/// watches the bucket, with the key's value as the reason; deleting the key undrains it.
/// </summary>
/// <remarks>
/// One wildcard watch covers the bucket (nats-server 2.9 cannot watch several keys at once). The watch first delivers
/// the keys that exist, so a process that starts while a strand is drained starts with it drained. When the server is
/// lost the watch tries again with backoff; the drains in force stay as they were meanwhile. Set and clear drains with
/// <see cref="DrainAsync"/> and <see cref="UndrainAsync"/>, the <c>helix drain</c> command, or <c>nats kv</c>.
/// <para>
/// A key <c>{KeyPrefix}{strand}.resync</c> resynchronises a strand across the fleet (<c>helix resync</c> sets it): each
/// data source where the strand is out of sync queues its writes again (as <see cref="HelixDataSource.BeginResyncAsync"/>
/// does, keeping the shared backlog); deleting the key ends the resynchronisation where one was begun.
/// </para>
/// </remarks>
public sealed partial class NatsDrainWatch : HelixDrainWatch
{
    private const string ResyncSuffix = ".resync";
    private readonly NatsConnection _connection;
    private readonly bool _ownsConnection;
    private readonly NatsDrainWatchOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _run;
    private int _disposed;

    /// <summary>Initializes a new instance of the <see cref="NatsDrainWatch"/> class on an existing connection.</summary>
    /// <param name="connection">The connection; the application owns it.</param>
    /// <param name="options">Settings, or <see langword="null"/> for the defaults.</param>
    public NatsDrainWatch(NatsConnection connection, NatsDrainWatchOptions? options = null)
        : this(connection, options, ownsConnection: false)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="NatsDrainWatch"/> class that connects to a server itself.</summary>
    /// <param name="url">The server, such as <c>nats://127.0.0.1:4222</c>.</param>
    /// <param name="options">Settings, or <see langword="null"/> for the defaults.</param>
    public NatsDrainWatch(string url, NatsDrainWatchOptions? options = null)
        : this(new NatsConnection(new NatsOpts { Url = url, Name = "helix-data-drain" }), options, ownsConnection: true)
    {
    }

    private NatsDrainWatch(NatsConnection connection, NatsDrainWatchOptions? options, bool ownsConnection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _ownsConnection = ownsConnection;
        _options = (options ?? new NatsDrainWatchOptions()).Validated();
    }

    /// <summary>Gets a task that completes once the watch has applied the drains that existed when it started.</summary>
    public Task Ready => _ready.Task;

    /// <summary>Drains a strand in every data source that watches the bucket.</summary>
    /// <param name="connection">A NATS connection.</param>
    /// <param name="strandName">The strand's name (from <c>Strand Names</c>; <c>secondary</c> by default).</param>
    /// <param name="reason">Why, shown in logs and the data sources' status.</param>
    /// <param name="options">The bucket and key prefix the data sources watch; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the server has stored the drain.</returns>
    public static async Task DrainAsync(INatsConnection connection, string strandName, string reason, NatsDrainWatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var (store, key) = await StoreAndKeyAsync(connection, strandName, options, cancellationToken).ConfigureAwait(false);
        await store.PutAsync(key, reason, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Undrains a strand in every data source that watches the bucket.</summary>
    /// <param name="connection">A NATS connection.</param>
    /// <param name="strandName">The strand's name.</param>
    /// <param name="options">The bucket and key prefix the data sources watch; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the server has removed the drain.</returns>
    public static async Task UndrainAsync(INatsConnection connection, string strandName, NatsDrainWatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (store, key) = await StoreAndKeyAsync(connection, strandName, options, cancellationToken).ConfigureAwait(false);
        await store.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Begins the resynchronisation of a strand in every data source that watches the bucket and has it out of sync.</summary>
    /// <param name="connection">A NATS connection.</param>
    /// <param name="strandName">The strand's name.</param>
    /// <param name="reason">Why, shown in logs and the data sources' status.</param>
    /// <param name="options">The bucket and key prefix the data sources watch; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the server has stored the key.</returns>
    public static async Task BeginResyncAsync(INatsConnection connection, string strandName, string reason, NatsDrainWatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var (store, key) = await StoreAndKeyAsync(connection, strandName, options, cancellationToken).ConfigureAwait(false);
        await store.PutAsync(key + ResyncSuffix, reason, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ends the resynchronisation of a strand in every data source that watches the bucket and began one.</summary>
    /// <param name="connection">A NATS connection.</param>
    /// <param name="strandName">The strand's name.</param>
    /// <param name="options">The bucket and key prefix the data sources watch; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>A task that completes when the server has removed the key.</returns>
    public static async Task CompleteResyncAsync(INatsConnection connection, string strandName, NatsDrainWatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (store, key) = await StoreAndKeyAsync(connection, strandName, options, cancellationToken).ConfigureAwait(false);
        await store.DeleteAsync(key + ResyncSuffix, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists the drains and resynchronisations in force in the bucket.</summary>
    /// <param name="connection">A NATS connection.</param>
    /// <param name="options">The bucket and key prefix the data sources watch; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">A token to cancel the operation.</param>
    /// <returns>One entry per key under the prefix, in key order.</returns>
    public static async Task<IReadOnlyList<NatsDrainEntry>> GetDrainsAsync(INatsConnection connection, NatsDrainWatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var settings = (options ?? new NatsDrainWatchOptions()).Validated();
        var store = await OpenStoreAsync(connection, settings, cancellationToken).ConfigureAwait(false);
        var drains = new List<NatsDrainEntry>();
        await foreach (var key in store.GetKeysAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (!key.StartsWith(settings.KeyPrefix, StringComparison.Ordinal) || await store.TryGetEntryAsync<string>(key, cancellationToken: cancellationToken).ConfigureAwait(false) is not { Success: true } entry)
            {
                continue;
            }

            var name = key[settings.KeyPrefix.Length..];
            var resync = name.EndsWith(ResyncSuffix, StringComparison.Ordinal);
            drains.Add(new NatsDrainEntry(resync ? name[..^ResyncSuffix.Length] : name, entry.Value.Value ?? string.Empty, resync));
        }

        return [.. drains.OrderBy(d => d.StrandName, StringComparer.Ordinal).ThenBy(d => d.IsResync)];
    }

    /// <inheritdoc />
    public override void Start(HelixDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        if (_run is not null)
        {
            throw new InvalidOperationException("A drain watch serves one data source; make one per data source.");
        }

        _run = Task.Run(() => RunAsync(dataSource, dataSource.Logger, _stopping.Token));
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_run is not null)
        {
            try
            {
                await _run.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // stopping
            }
        }

        _ready.TrySetCanceled();
        _stopping.Dispose();
        if (_ownsConnection)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<(INatsKVStore Store, string Key)> StoreAndKeyAsync(INatsConnection connection, string strandName, NatsDrainWatchOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentException.ThrowIfNullOrWhiteSpace(strandName);
        var settings = (options ?? new NatsDrainWatchOptions()).Validated();
        return (await OpenStoreAsync(connection, settings, cancellationToken).ConfigureAwait(false), settings.KeyPrefix + strandName);
    }

    private static ValueTask<INatsKVStore> OpenStoreAsync(INatsConnection connection, NatsDrainWatchOptions options, CancellationToken cancellationToken) =>
        JetStreamSetup.OpenBucketAsync(
            new NatsJSContext(connection),
            new NatsKVConfig(options.Bucket) { History = 1, Storage = NatsKVStorageType.File, Description = "Helix.Data strand drains: key = strand name, value = reason" },
            cancellationToken);

    private async Task RunAsync(HelixDataSource dataSource, ILogger logger, CancellationToken stopping)
    {
        var names = dataSource.GetStatus().Strands.ToDictionary(s => _options.KeyPrefix + s.Name, s => s.Strand, StringComparer.Ordinal);
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var store = await OpenStoreAsync(_connection, _options, stopping).ConfigureAwait(false);
                var opts = new NatsKVWatchOpts { OnNoData = _ => { _ready.TrySetResult(); return ValueTask.FromResult(false); } };
                LogWatching(logger, _options.Bucket, _options.KeyPrefix);
                await foreach (var entry in store.WatchAsync<string>(_options.KeyPrefix + ">", opts: opts, cancellationToken: stopping).ConfigureAwait(false))
                {
                    delay = TimeSpan.FromMilliseconds(200);
                    var resync = entry.Key.EndsWith(ResyncSuffix, StringComparison.Ordinal);
                    if (!names.TryGetValue(resync ? entry.Key[..^ResyncSuffix.Length] : entry.Key, out var strand))
                    {
                        LogUnknownKey(logger, entry.Key, _options.Bucket);
                    }
                    else if (resync)
                    {
                        Resync(dataSource, logger, strand, entry);
                    }
                    else if (entry.Operation == NatsKVOperation.Put)
                    {
                        dataSource.Drain(strand, string.IsNullOrWhiteSpace(entry.Value) ? $"drained through NATS key {entry.Key}" : entry.Value);
                    }
                    else
                    {
                        dataSource.Undrain(strand);
                    }

                    if (entry.Delta == 0)
                    {
                        _ready.TrySetResult(); // the last of the entries that existed when the watch started
                    }
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // the watch outlives a lost server: it logs and tries again
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogLost(logger, _options.Bucket, delay, Redactor.RedactUrls(e.Message));
                await Task.Delay(delay, dataSource.TimeProvider, stopping).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.RetryMax.Ticks));
            }
        }
    }

    /// <summary>A resync key: begins the resynchronisation of a strand out of sync here; its deletion ends one begun.</summary>
    private static void Resync(HelixDataSource dataSource, ILogger logger, HelixStrand strand, NatsKVEntry<string> entry)
    {
        if (entry.Operation == NatsKVOperation.Put)
        {
            if (!dataSource.BeginFleetResync(strand, string.IsNullOrWhiteSpace(entry.Value) ? $"through NATS key {entry.Key}" : entry.Value))
            {
                LogResyncIgnored(logger, entry.Key, dataSource.GetStatus().Strands[(int)strand].State);
            }
        }
        else
        {
            dataSource.CompleteFleetResync(strand);
        }
    }

    [LoggerMessage(6003, LogLevel.Information, "Drain watch: resync key {Key} concerns a strand that is {State} here, not out of sync; nothing to do")]
    private static partial void LogResyncIgnored(ILogger logger, string key, HelixStrandState state);

    [LoggerMessage(6000, LogLevel.Information, "Drain watch on NATS bucket {Bucket} (key prefix '{Prefix}') started")]
    private static partial void LogWatching(ILogger logger, string bucket, string prefix);

    [LoggerMessage(6001, LogLevel.Warning, "Drain watch: key {Key} in bucket {Bucket} names no strand of this data source; ignored")]
    private static partial void LogUnknownKey(ILogger logger, string key, string bucket);

    [LoggerMessage(6002, LogLevel.Warning, "Drain watch on NATS bucket {Bucket} lost the server; next attempt in {Delay}: {Error}")]
    private static partial void LogLost(ILogger logger, string bucket, TimeSpan delay, string error);
}
