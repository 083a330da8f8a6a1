using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Helix.Data.Operations;

/// <summary>
/// What differs between databases in a comparison: how a row becomes a 64-bit hash inside the database, and how the
/// hashes of a range add up without overflowing. One small class per provider; the rest of the comparison is shared.
/// </summary>
internal abstract class VerifyDialect
{
    public static VerifyDialect For(DbProviderFactory factory) => factory.GetType().Namespace switch
    {
        "Npgsql" => new PostgresDialect(),
        "Microsoft.Data.Sqlite" => new SqliteDialect(),
        var other => throw new NotSupportedException($"Verifying strands of the provider {other} is not supported yet: PostgreSQL (Npgsql) and SQLite are."),
    };

    /// <summary>Gets the name the comparison uses for a provider in its messages.</summary>
    public abstract string Name { get; }

    /// <summary>Readies a connection (SQLite: registers the hash functions on it).</summary>
    public virtual void Prepare(DbConnection connection)
    {
    }

    /// <summary>An expression that is one row's 64-bit hash, over the key and the compared columns (quoted).</summary>
    public abstract string RowHash(IReadOnlyList<string> columns);

    /// <summary>An aggregate of row hashes that both strands compute alike, read back as text.</summary>
    public abstract string SumOf(string hash);

    /// <summary>
    /// A query listing the user's tables: the table (schema-qualified where the database has schemas), its primary key
    /// column when the key is one column (else null), one row per table, in name order.
    /// </summary>
    public abstract string TablesQuery { get; }

    private sealed class PostgresDialect : VerifyDialect
    {
        public override string Name => "PostgreSQL";

        // md5 of the row's text form, its first 64 bits as a bigint; the sum is numeric (no overflow).
        public override string RowHash(IReadOnlyList<string> columns) =>
            $"('x' || substr(md5(ROW({string.Join(", ", columns)})::text), 1, 16))::bit(64)::bigint";

        public override string SumOf(string hash) => $"coalesce(sum({hash}), 0)::text";

        public override string TablesQuery => """
            SELECT t.table_schema || '.' || t.table_name,
                   CASE WHEN count(k.column_name) = 1 THEN min(k.column_name) END
            FROM information_schema.tables t
            LEFT JOIN information_schema.table_constraints c
              ON c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.constraint_type = 'PRIMARY KEY'
            LEFT JOIN information_schema.key_column_usage k
              ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name
            WHERE t.table_type = 'BASE TABLE' AND t.table_schema NOT IN ('pg_catalog', 'information_schema')
            GROUP BY t.table_schema, t.table_name
            ORDER BY 1
            """;
    }

    private sealed class SqliteDialect : VerifyDialect
    {
        public override string Name => "SQLite";

        public override void Prepare(DbConnection connection)
        {
            var sqlite = (SqliteConnection)connection;
            sqlite.CreateFunction("helix_hash", (string? text) => Fnv1a(text ?? string.Empty), isDeterministic: true);
            sqlite.CreateAggregate("helix_sum64", 0L, (long sum, long hash) => unchecked(sum + hash), isDeterministic: true);
        }

        // quote() gives each value's SQL literal: the type shows (1 and '1' differ), NULL is NULL.
        public override string RowHash(IReadOnlyList<string> columns) =>
            $"helix_hash({string.Join(" || '|' || ", columns.Select(c => $"quote({c})"))})";

        public override string SumOf(string hash) => $"CAST(coalesce(helix_sum64({hash}), 0) AS TEXT)";

        public override string TablesQuery => """
            SELECT m.name,
                   CASE WHEN (SELECT count(*) FROM pragma_table_info(m.name) p WHERE p.pk > 0) = 1
                        THEN (SELECT p.name FROM pragma_table_info(m.name) p WHERE p.pk = 1) END
            FROM sqlite_master m
            WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
            ORDER BY 1
            """;

        private static long Fnv1a(string text)
        {
            var hash = 14695981039346656037UL;
            foreach (var b in System.Text.Encoding.UTF8.GetBytes(text))
            {
                hash = unchecked((hash ^ b) * 1099511628211UL);
            }

            return unchecked((long)hash);
        }
    }
}
