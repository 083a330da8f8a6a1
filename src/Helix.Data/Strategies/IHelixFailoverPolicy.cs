namespace Helix.Data.Strategies;

/// <summary>
/// The gatekeeper of reads (contract section 6): it decides whether a read that met a strand fault may be retried on
/// the other strand, and it can keep reads away from a strand (an open circuit). The read strategy routes only within
/// what the policy allows. Implementations must be thread-safe; one instance serves one data source.
/// </summary>
/// <remarks>
/// A policy whose circuit is not closed is probed by Helix: once <see cref="GetProbeDelay"/> says a probe is due, Helix
/// runs the probe statement on the strand and reports the outcome through <see cref="RecordSuccess"/> or
/// <see cref="RecordFailure"/>. So a strand that routing skips still gets the trial call that closes its circuit.
/// </remarks>
public interface IHelixFailoverPolicy
{
    /// <summary>
    /// Gets a value indicating whether a read's strand fault also marks the strand
    /// <see cref="HelixStrandState.Failed"/> (its writes are queued and the replay worker probes it). Policies that
    /// count faults in a circuit return <see langword="false"/>: the circuit keeps reads away instead, and writes
    /// still fail the strand when they meet a fault.
    /// </summary>
    bool FailsStrandOnReadFault { get; }

    /// <summary>Gets whether reads may be routed to the strand (<see langword="false"/> while its circuit is open or half-open).</summary>
    /// <param name="strand">The strand.</param>
    /// <returns><see langword="true"/> when reads may go to the strand.</returns>
    bool AllowsReads(HelixStrand strand);

    /// <summary>Gets the state of the strand's circuit, for the status, metrics and strategies.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>The circuit state; <see cref="HelixCircuitState.Closed"/> for policies without a circuit.</returns>
    HelixCircuitState GetCircuitState(HelixStrand strand);

    /// <summary>
    /// Tells when Helix should probe the strand: <see langword="null"/> when it needs no probe, <see cref="TimeSpan.Zero"/>
    /// when a probe is due now, otherwise how long until it is due.
    /// </summary>
    /// <param name="strand">The strand.</param>
    /// <returns>The delay until the next probe, or <see langword="null"/>.</returns>
    TimeSpan? GetProbeDelay(HelixStrand strand);

    /// <summary>A read (or a probe) succeeded on the strand.</summary>
    /// <param name="strand">The strand.</param>
    /// <param name="elapsed">How long it took, from sending the command to its result.</param>
    void RecordSuccess(HelixStrand strand, TimeSpan elapsed);

    /// <summary>A read (or a probe) met a strand fault on the strand.</summary>
    /// <param name="strand">The strand.</param>
    /// <param name="fault">The fault.</param>
    void RecordFailure(HelixStrand strand, Exception fault);

    /// <summary>Decides, after <see cref="RecordFailure"/>, whether the failed read may be retried on another strand.</summary>
    /// <param name="strand">The strand that faulted.</param>
    /// <param name="fault">The fault.</param>
    /// <returns><see langword="true"/> to let the read strategy pick another strand; <see langword="false"/> to give the caller the error.</returns>
    bool ShouldFailover(HelixStrand strand, Exception fault);

    /// <summary>
    /// Gets a value indicating whether the policy keeps circuits (<see cref="AllowsReads"/>, <see cref="GetCircuitState"/>
    /// and <see cref="GetProbeDelay"/> can say something else than "closed"): Helix then watches them and probes strands.
    /// Asked once, when the data source is built.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    bool HasCircuits => true;

    /// <summary>
    /// Gets a value indicating whether <see cref="RecordSuccess"/> does anything; when <see langword="false"/>, reads
    /// spend no call on telling the policy. Asked once, when the data source is built.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    bool ObservesSuccesses => true;

    /// <summary>
    /// Gets a value indicating whether <see cref="RecordSuccess"/> uses how long a read took (a latency threshold); when
    /// <see langword="false"/>, reads are not timed for the policy. Asked once, when the data source is built.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    bool UsesReadLatency => true;
}
