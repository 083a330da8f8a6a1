using Helix.Data.Replay;

namespace Helix.Data;

/// <content>The application's callbacks: divergences, and what the replay worker did.</content>
public sealed partial class HelixDataSourceBuilder
{
    private Action<HelixDivergence>? _onDivergence;
    private Action<HelixReplayEvent>? _onReplayed;
    private Action<HelixReplayEvent>? _onReplayFailed;
    private Action<HelixReplayEvent>? _onDeadLettered;

    /// <summary>Registers a hook called after the replay worker applied entries to a strand (a batch, or one entry).</summary>
    /// <param name="hook">Called on the worker's thread; it should return quickly. Its exceptions are logged and ignored.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder OnReplayed(Action<HelixReplayEvent> hook)
    {
        _onReplayed += hook ?? throw new ArgumentNullException(nameof(hook));
        return this;
    }

    /// <summary>
    /// Registers a hook called when applying entries to a strand failed: a strand fault (the entries wait for the strand,
    /// <see cref="HelixReplayEvent.IsStrandFault"/>) or a statement error that the entry will be tried again after.
    /// </summary>
    /// <param name="hook">Called on the worker's thread; it should return quickly. Its exceptions are logged and ignored.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder OnReplayFailed(Action<HelixReplayEvent> hook)
    {
        _onReplayFailed += hook ?? throw new ArgumentNullException(nameof(hook));
        return this;
    }

    /// <summary>
    /// Registers a hook called when the worker sets an entry aside that keeps failing with a statement error (after
    /// <c>Replay Max Attempts</c>): the strand will not get it unless an operator acts. The divergence is reported too.
    /// </summary>
    /// <param name="hook">Called on the worker's thread; it should return quickly. Its exceptions are logged and ignored.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder OnDeadLettered(Action<HelixReplayEvent> hook)
    {
        _onDeadLettered += hook ?? throw new ArgumentNullException(nameof(hook));
        return this;
    }

    /// <summary>Registers a callback for every divergence: the strands differ and replay cannot fix it on its own.</summary>
    /// <param name="callback">Called on the thread that saw the divergence; it should return quickly. Its exceptions are ignored.</param>
    /// <returns>This builder, so that method calls can be chained.</returns>
    public HelixDataSourceBuilder OnDivergence(Action<HelixDivergence> callback)
    {
        _onDivergence += callback ?? throw new ArgumentNullException(nameof(callback));
        return this;
    }
}
