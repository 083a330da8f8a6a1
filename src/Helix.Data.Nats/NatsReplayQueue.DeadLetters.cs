using System.Globalization;
using System.Text;
using Helix.Data.Replay;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Helix.Data.Nats;

/// <content>
/// Dead letters: entries a strand keeps refusing, kept in the stream under <c>{prefix}.dead.{strand}</c> (no consumer
/// reads them, so the work-queue stream keeps them until <c>MaxAge</c>); an operator lists, retries and discards them.
/// A discarded one leaves an audit record under <c>{prefix}.discarded.{strand}</c>.
/// </content>
public sealed partial class NatsReplayQueue
{
    private const string ReasonHeader = "Helix-Reason";
    private const string DiscardReasonHeader = "Helix-Discard-Reason";
    private const string DiscardedByHeader = "Helix-Discarded-By";
    private const string DeadAtHeader = "Helix-Dead-At";

    /// <inheritdoc />
    public override bool ManagesDeadLetters => true;

    /// <inheritdoc />
    public override async ValueTask DeadLetterAsync(HelixReplayEntry entry, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        var ack = await _js!.PublishAsync(
            DeadSubject(entry.Strand),
            HelixReplaySerializer.Serialize(entry),
            opts: new NatsJSPubOpts { MsgId = entry.Id.ToString("N") + "-dead" },
            headers: new NatsHeaders { [ReasonHeader] = OneLine(reason) },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        ack.EnsureSuccess();
        if (_leased.TryRemove(entry.Id, out var message))
        {
            await message.AckTerminateAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            DecrementBacklog(entry.Strand);
        }
    }

    /// <inheritdoc />
    /// <remarks>Reads the stream message by message (one request each): meant for an operator, not a hot path.</remarks>
    public override async ValueTask<IReadOnlyList<HelixDeadLetter>> GetDeadLettersAsync(int maxCount = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var letters = new List<HelixDeadLetter>();
        await foreach (var stored in StoredAsync("dead", cancellationToken).ConfigureAwait(false))
        {
            letters.Add(Letter(stored));
            if (letters.Count == maxCount)
            {
                break;
            }
        }

        return letters;
    }

    /// <inheritdoc />
    /// <remarks>
    /// The entry is published again to its strand's subject (after the entries waiting now), then its dead letter is
    /// removed. Should the removal fail, the dead letter stays listed although its entry is queued: do not retry it twice.
    /// </remarks>
    public override async ValueTask<bool> RetryDeadLetterAsync(Guid entryId, CancellationToken cancellationToken = default)
    {
        if (await FindAsync("dead", entryId, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            return false;
        }

        var entry = Context.Deserialize(stored.Data);
        var ack = await _js!.PublishAsync(
            Subject(entry.Priority, (int)entry.Strand),
            stored.Data.ToArray(),
            opts: new NatsJSPubOpts { MsgId = $"{entry.Id:N}-retry-{stored.Sequence}" },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        ack.EnsureSuccess();
        IncrementBacklog(entry.Strand);
        await RemoveAsync(stored.Sequence, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public override async ValueTask<bool> DiscardDeadLetterAsync(Guid entryId, string reason, string by, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        if (await FindAsync("dead", entryId, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            return false;
        }

        var strand = stored.Subject[(stored.Subject.LastIndexOf('.') + 1)..];
        var headers = new NatsHeaders
        {
            [ReasonHeader] = stored.Headers.GetValueOrDefault(ReasonHeader, string.Empty),
            [DeadAtHeader] = stored.At.ToString("O", CultureInfo.InvariantCulture),
            [DiscardReasonHeader] = OneLine(reason),
            [DiscardedByHeader] = OneLine(by),
        };
        var ack = await _js!.PublishAsync($"{_options.SubjectPrefix}.discarded.{strand}", stored.Data.ToArray(), headers: headers, cancellationToken: cancellationToken).ConfigureAwait(false);
        ack.EnsureSuccess();
        await RemoveAsync(stored.Sequence, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<HelixDiscardedDeadLetter>> GetDiscardedAsync(int maxCount = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var records = new List<HelixDiscardedDeadLetter>();
        await foreach (var stored in StoredAsync("discarded", cancellationToken).ConfigureAwait(false))
        {
            var deadAt = DateTimeOffset.Parse(stored.Headers.GetValueOrDefault(DeadAtHeader, stored.At.ToString("O", CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
            var letter = Letter(stored) with { At = deadAt };
            records.Add(new HelixDiscardedDeadLetter(letter, stored.Headers.GetValueOrDefault(DiscardReasonHeader, string.Empty), stored.Headers.GetValueOrDefault(DiscardedByHeader, string.Empty), stored.At));
            if (records.Count == maxCount)
            {
                break;
            }
        }

        return records;
    }

    private static string OneLine(string text) => text.Replace('\n', ' ').Replace('\r', ' ');

    private string DeadSubject(HelixStrand strand) => $"{_options.SubjectPrefix}.dead.{_strandNames[(int)strand]}";

    private HelixDeadLetter Letter(StoredEntry stored) => new(Context.Deserialize(stored.Data), stored.Headers.GetValueOrDefault(ReasonHeader, string.Empty), stored.At);

    private async ValueTask<StoredEntry?> FindAsync(string kind, Guid entryId, CancellationToken cancellationToken)
    {
        var id = entryId.ToString("N");
        await foreach (var stored in StoredAsync(kind, cancellationToken).ConfigureAwait(false))
        {
            if (stored.Headers.GetValueOrDefault("Nats-Msg-Id", string.Empty).StartsWith(id, StringComparison.Ordinal))
            {
                return stored;
            }
        }

        return null;
    }

    /// <summary>The stream's messages under <c>{prefix}.{kind}.*</c>, oldest first, read without consuming them.</summary>
    private async IAsyncEnumerable<StoredEntry> StoredAsync(string kind, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await _ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        var stream = await _js!.GetStreamAsync(_options.StreamName, cancellationToken: cancellationToken).ConfigureAwait(false);
        var filter = $"{_options.SubjectPrefix}.{kind}.>";
        ulong next = 1;
        while (true)
        {
            StreamMsgGetResponse response;
            try
            {
                response = await stream.GetAsync(new StreamMsgGetRequest { Seq = next, NextBySubj = filter }, cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSApiException e) when (e.Error.Code == 404)
            {
                yield break; // no message at or after that sequence
            }

            var message = response.Message;
            yield return new StoredEntry(message.Seq, message.Subject, message.Data, Headers(message.Hdrs), message.Time);
            next = message.Seq + 1;
        }
    }

    /// <summary>Deletes one message by its sequence (one request: the stream's info is not needed for it).</summary>
    private async ValueTask RemoveAsync(ulong sequence, CancellationToken cancellationToken) =>
        await _js!.DeleteMessageAsync(_options.StreamName, new StreamMsgDeleteRequest { Seq = sequence }, cancellationToken).ConfigureAwait(false);

    /// <summary>Reads a stored message's header block, as the server sends it in base64 (<c>NATS/1.0</c>, then <c>Name: value</c> lines).</summary>
    private static Dictionary<string, string> Headers(string? base64)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var block = string.IsNullOrEmpty(base64) ? string.Empty : Encoding.UTF8.GetString(Convert.FromBase64String(base64));
        foreach (var line in block.Split("\r\n").Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        return headers;
    }

    private sealed record StoredEntry(ulong Sequence, string Subject, ReadOnlyMemory<byte> Data, Dictionary<string, string> Headers, DateTimeOffset At);
}
