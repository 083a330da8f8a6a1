using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Helix.Data.Internal;

/// <summary>
/// The <c>Helix.Data</c> activity source (contract section 9): a span per command (<c>helix.read</c>, <c>helix.write</c>),
/// a child per strand it touched (<c>helix.strand</c>), and a span per batch the replay worker applies
/// (<c>helix.replay</c>). Inner providers' own spans (Npgsql's, for one) nest under the strand spans. Without a
/// listener nothing is created.
/// </summary>
internal static class HelixActivities
{
    public const string SourceName = "Helix.Data";
    public const string OperationTag = "helix.operation";

    public static readonly ActivitySource Source = new(SourceName, typeof(HelixActivities).Assembly.GetName().Version?.ToString());

    /// <summary>Starts the span of a command, or returns <see langword="null"/> when nobody listens.</summary>
    /// <remarks>The check is inlined into every command (forced: the inliner's budget in a command's execution is spent before
    /// it gets here); the span is made out of line.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activity? StartCommand(bool isWrite, HelixDataSource dataSource) => Source.HasListeners() ? StartCommandSpan(isWrite, dataSource) : null;

    /// <summary>Starts the span of a command's execution on one strand, or returns <see langword="null"/> when nobody listens.</summary>
    public static Activity? StartStrand(Strand strand) => Source.HasListeners() ? StartStrandSpan(strand) : null;

    private static Activity? StartCommandSpan(bool isWrite, HelixDataSource dataSource)
    {
        var activity = Source.StartActivity(isWrite ? "helix.write" : "helix.read", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(OperationTag, isWrite ? "write" : "read");
            activity.SetTag(HelixMetrics.DataSourceTag, dataSource.Name);
        }

        return activity;
    }

    private static Activity? StartStrandSpan(Strand strand)
    {
        var activity = Source.StartActivity("helix.strand", ActivityKind.Internal);
        activity?.SetTag(HelixMetrics.StrandTag, strand.Name);
        return activity;
    }

    /// <summary>Starts the span of a replay batch.</summary>
    public static Activity? StartReplay(Strand strand, int entries)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        // A root span: replay runs in the background, not inside any caller's trace.
        var activity = Source.StartActivity("helix.replay", ActivityKind.Internal, parentContext: default);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(HelixMetrics.StrandTag, strand.Name);
            activity.SetTag("helix.replay.entries", entries);
        }

        return activity;
    }

    /// <summary>Marks a span as failed, with the error's type and message (provider messages carry no secrets).</summary>
    public static void Fail(Activity? activity, Exception error)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, error.Message);
        activity.SetTag("error.type", error.GetType().FullName);
    }
}
