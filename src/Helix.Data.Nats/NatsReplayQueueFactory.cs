using System.Globalization;
using Helix.Data.Replay;

namespace Helix.Data.Nats;

/// <summary>
/// Makes the <see cref="NatsReplayQueue"/> of <c>Replay=nats://host:port</c>; Helix finds it by assembly name. Stream
/// settings go in the URL's query: <c>nats://host:4222?stream=orders&amp;subject-prefix=orders.replay&amp;max-age=86400</c>.
/// </summary>
/// <remarks>
/// Query parameters (case-insensitive; '-' and '_' are ignored): <c>stream</c>, <c>subject-prefix</c>,
/// <c>consumer-prefix</c>, <c>max-age</c> (seconds), <c>max-messages</c>, <c>max-bytes</c>, <c>replicas</c>,
/// <c>duplicate-window</c> (seconds), <c>ack-wait</c> (seconds), <c>publish-timeout</c> (seconds). The priority ratio
/// and strict mode come from <c>Replay Priority Ratio</c> and <c>Replay Strict Priority</c>.
/// </remarks>
public sealed class NatsReplayQueueFactory : IHelixReplayQueueFactory
{
    private static readonly string ReplayKey = "Replay";

    /// <inheritdoc />
    public HelixReplayQueue Create(string location, HelixConnectionStringBuilder settings)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(settings);
        var (url, options) = Parse(location);
        options.PriorityRatio = settings.ReplayPriorityRatio;
        options.StrictPriority = settings.ReplayStrictPriority;
        return new NatsReplayQueue(url, options);
    }

    /// <summary>Splits a <c>Replay</c> value into the server URL and the options its query sets.</summary>
    internal static (string Url, NatsReplayQueueOptions Options) Parse(string location)
    {
        var options = new NatsReplayQueueOptions();
        var query = location.IndexOf('?', StringComparison.Ordinal);
        if (query < 0)
        {
            return (location, options);
        }

        foreach (var pair in location[(query + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? string.Empty : Uri.UnescapeDataString(pair[(equals + 1)..]);
            switch (name.Replace("-", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal).ToUpperInvariant())
            {
                case "STREAM" or "STREAMNAME":
                    options.StreamName = value;
                    break;
                case "SUBJECTPREFIX":
                    options.SubjectPrefix = value;
                    break;
                case "CONSUMERPREFIX":
                    options.ConsumerPrefix = value;
                    break;
                case "MAXAGE":
                    options.MaxAge = TimeSpan.FromSeconds(Number(name, value, 1));
                    break;
                case "MAXMESSAGES" or "MAXMSGS":
                    options.MaxMessages = Number(name, value, -1);
                    break;
                case "MAXBYTES":
                    options.MaxBytes = Number(name, value, -1);
                    break;
                case "REPLICAS":
                    options.Replicas = (int)Number(name, value, 1);
                    break;
                case "DUPLICATEWINDOW":
                    options.DuplicateWindow = TimeSpan.FromSeconds(Number(name, value, 1));
                    break;
                case "ACKWAIT":
                    options.AckWait = TimeSpan.FromSeconds(Number(name, value, 1));
                    break;
                case "PUBLISHTIMEOUT":
                    options.PublishTimeout = TimeSpan.FromSeconds(Number(name, value, 1));
                    break;
                case "MAXACKPENDING":
                    options.MaxAckPending = (int)Math.Min(Number(name, value, 1), int.MaxValue);
                    break;
                default:
                    throw new ArgumentException(
                        $"Connection-string key 'Replay' has the NATS option '{name}', which is not one; use stream, subject-prefix, consumer-prefix, max-age, max-messages, max-bytes, replicas, duplicate-window, ack-wait, publish-timeout or max-ack-pending.",
                        ReplayKey);
            }
        }

        return (location[..query], options);
    }

    private static long Number(string name, string value, long minimum) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) && number >= minimum
            ? number
            : throw new ArgumentException($"Connection-string key 'Replay' has the NATS option {name}={value}; expected a whole number, {minimum} or more.", ReplayKey);
}
