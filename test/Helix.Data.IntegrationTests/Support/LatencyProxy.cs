using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Helix.Data.Testing;

namespace Helix.Data.IntegrationTests.Support;

/// <summary>
/// A TCP proxy on 127.0.0.1 that adds a one-way delay to everything it forwards, in both directions, keeping order
/// and throughput: a strand behind it is slow (a distant region), not down. The delay can change while it runs.
/// </summary>
internal sealed class LatencyProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<TcpClient> _clients = [];
    private readonly Task _accepting;
    private long _delayTicks;

    public LatencyProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, Ports.FreeBelowEphemeral());
        _listener.Start();
        _accepting = AcceptAsync(_stopping.Token);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Gets or sets the delay added to each chunk in each direction (a round trip pays it twice).</summary>
    public TimeSpan Delay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _delayTicks));
        set => Interlocked.Exchange(ref _delayTicks, value.Ticks);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }

        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // stopping
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var inbound = await _listener.AcceptTcpClientAsync(stopping);
            var outbound = new TcpClient();
            await outbound.ConnectAsync(IPAddress.Loopback, _targetPort, stopping);
            inbound.NoDelay = outbound.NoDelay = true;
            lock (_clients)
            {
                _clients.Add(inbound);
                _clients.Add(outbound);
            }

            _ = PumpAsync(inbound.GetStream(), outbound.GetStream(), inbound, outbound, stopping);
            _ = PumpAsync(outbound.GetStream(), inbound.GetStream(), outbound, inbound, stopping);
        }
    }

    // Reads chunks as they come and writes each one once its delay has passed, in order.
    private async Task PumpAsync(NetworkStream from, NetworkStream to, TcpClient source, TcpClient target, CancellationToken stopping)
    {
        var line = Channel.CreateUnbounded<(byte[] Data, long Due)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writing = Task.Run(
            async () =>
            {
                await foreach (var (data, due) in line.Reader.ReadAllAsync(stopping))
                {
                    var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, stopping);
                    }

                    await to.WriteAsync(data, stopping);
                }
            },
            CancellationToken.None);
        try
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await from.ReadAsync(buffer, stopping)) > 0)
            {
                line.Writer.TryWrite((buffer[..read], Stopwatch.GetTimestamp() + (Delay.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond)));
            }

            line.Writer.TryComplete();
            await writing;
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or ChannelClosedException)
        {
            line.Writer.TryComplete();
        }
        finally
        {
            source.Dispose();
            target.Dispose();
        }
    }
}
