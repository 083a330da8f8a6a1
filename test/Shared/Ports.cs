using System.Net;
using System.Net.Sockets;

namespace Helix.Data.Testing;

/// <summary>Ports for servers that tests and benchmarks start on loopback.</summary>
internal static class Ports
{
    /// <summary>
    /// A free port on 127.0.0.1 below the ephemeral range (32768-60999), so that after a test stops a server no
    /// client's own port can take its place and keep it from binding again.
    /// </summary>
    public static int FreeBelowEphemeral()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("No free TCP port between 20000 and 32000 on 127.0.0.1.");
    }
}
