using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Collections.Concurrent;

namespace Helix.Data.Testing;

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

    // Reads chunks as they come; a thread of its own writes each one once its delay has passed, in order. A thread, not
    // Task.Delay: timers wake up milliseconds late (4 ms for a 1 ms delay on a 2-core VM), Thread.Sleep within ~0.2 ms.
    private async Task PumpAsync(NetworkStream from, NetworkStream to, TcpClient source, TcpClient target, CancellationToken stopping)
    {
        using var line = new BlockingCollection<(byte[] Data, long Due)>();
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writer = new Thread(() =>
        {
            try
            {
                foreach (var (data, due) in line.GetConsumingEnumerable(stopping))
                {
                    var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                    if (wait > TimeSpan.Zero)
                    {
                        // Sleep counts whole milliseconds and drops the rest: round up, or 0.9 ms would be no wait.
                        Thread.Sleep(TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds)));
                    }

                    to.Write(data);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // the connection or the proxy is closing
            }
            finally
            {
                written.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = "Latency proxy writer",
        };
        writer.Start();
        try
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await from.ReadAsync(buffer, stopping)) > 0)
            {
                line.Add((buffer[..read], Stopwatch.GetTimestamp() + (Delay.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond)), stopping);
            }

        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // the connection or the proxy is closing
        }
        finally
        {
            line.CompleteAdding(); // the writer sends what is queued, then ends
            await written.Task;
            source.Dispose();
            target.Dispose();
        }
    }
}
