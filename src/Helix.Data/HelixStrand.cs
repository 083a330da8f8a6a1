namespace Helix.Data;

/// <summary>
/// Identifies one of the two independent databases ("strands") behind a <see cref="HelixDataSource"/>.
/// </summary>
/// <remarks>
/// "Primary" only means "listed first in the connection string": both strands are written and both can
/// serve reads. The primary wins ties, for example when both strands answer and their results differ.
/// </remarks>
public enum HelixStrand
{
    /// <summary>The strand given by the <c>Primary</c> connection-string key.</summary>
    Primary = 0,

    /// <summary>The strand given by the <c>Secondary</c> connection-string key.</summary>
    Secondary = 1,
}
