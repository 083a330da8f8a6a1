namespace Helix.Data.Internal;

/// <summary>The parsed value of the <c>Replay</c> key: <c>Memory</c>, <c>None</c>, <c>nats://host:port</c> or <c>file:path</c>.</summary>
internal sealed record ReplayTarget(ReplayTargetKind Kind, string? Location)
{
    public static readonly ReplayTarget Memory = new(ReplayTargetKind.Memory, null);

    public static ReplayTarget Parse(string text)
    {
        const string Allowed = "Memory, None, nats://host:port or file:path";
        if (string.Equals(text, "Memory", StringComparison.OrdinalIgnoreCase))
        {
            return Memory;
        }

        if (string.Equals(text, "None", StringComparison.OrdinalIgnoreCase))
        {
            return new(ReplayTargetKind.None, null);
        }

        if (text.StartsWith("nats://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("tls://", StringComparison.OrdinalIgnoreCase))
        {
            return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Host.Length > 0
                ? new(ReplayTargetKind.Nats, text)
                : throw HelixKeywords.Invalid(HelixKeywords.Replay, text, Allowed);
        }

        if (text.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            var path = text["file:".Length..].Trim();
            return path.Length > 0 ? new(ReplayTargetKind.File, path) : throw HelixKeywords.Invalid(HelixKeywords.Replay, text, Allowed + " (the path is missing)");
        }

        throw HelixKeywords.Invalid(HelixKeywords.Replay, text, Allowed);
    }

    public override string ToString() => Kind switch
    {
        ReplayTargetKind.Memory => "Memory",
        ReplayTargetKind.None => "None",
        ReplayTargetKind.File => "file:" + Location,
        _ => Location!,
    };
}

/// <summary>Where replay entries are kept.</summary>
internal enum ReplayTargetKind
{
    Memory,
    None,
    Nats,
    File,
}
