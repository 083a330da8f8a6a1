using System.Data.Common;

namespace Helix.Data.Conformance;

/// <summary>What a check runs against: a way to make closed connections, and the SQL dialect to speak.</summary>
/// <param name="Name">For reports, e.g. "Microsoft.Data.Sqlite" or "Helix.Data over Microsoft.Data.Sqlite".</param>
/// <param name="CreateConnection">Makes a new, closed connection with its connection string set.</param>
/// <param name="Dialect">The dialect of the database behind it.</param>
public sealed record ConformanceTarget(string Name, Func<DbConnection> CreateConnection, Dialect Dialect);

/// <summary>The SQL spoken by a target.</summary>
public enum Dialect
{
    Sqlite,
    PostgreSql,
    MySql,
}

/// <summary>Whether Helix runs with two strands or in single-strand mode (a pure pass-through) in a comparison.</summary>
public enum Strands
{
    Two,
    One,
}
