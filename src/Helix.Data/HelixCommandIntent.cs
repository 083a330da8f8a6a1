namespace Helix.Data;

/// <summary>Whether a <see cref="HelixCommand"/> is executed as a read (one strand) or as a write (every strand).</summary>
public enum HelixCommandIntent
{
    /// <summary>
    /// Decide from the method and the SQL text: <c>ExecuteNonQuery</c> is a write; <c>ExecuteReader</c> and
    /// <c>ExecuteScalar</c> are reads when every statement is a plain query, and writes otherwise. A leading
    /// <c>/* helix:read */</c> or <c>/* helix:write */</c> comment decides for its statement.
    /// </summary>
    Auto = 0,

    /// <summary>Execute on one strand, chosen by the read strategy, with failover.</summary>
    Read = 1,

    /// <summary>Execute on every strand; strands that cannot take the write get it through replay.</summary>
    Write = 2,
}
