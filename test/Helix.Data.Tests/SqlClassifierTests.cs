using System.Data;
using Helix.Data.Internal;

namespace Helix.Data.Tests;

/// <summary>Contract section 4: which SQL texts are reads and which are writes, across dialects.</summary>
public class SqlClassifierTests
{
    private static readonly object[] Texts =
    [
        // plain queries
        new object[] { "SELECT 1", false },
        new object[] { "  select * from users where id = @id", false },
        new object[] { "SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id GROUP BY u.id", false },
        new object[] { "(SELECT a FROM t) UNION (SELECT b FROM u)", false },
        new object[] { "-- a comment\nSELECT 1", false },
        new object[] { "/* leading */ SELECT 1", false },
        new object[] { "SELECT 'INSERT INTO t VALUES (1)'", false },
        new object[] { "SELECT \"delete\" FROM \"update\"", false },
        new object[] { "SELECT [insert] FROM [dbo].[update]", false },
        new object[] { "SELECT `delete` FROM `t`", false },
        new object[] { "SELECT 1; SELECT 2", false },
        new object[] { "SELECT * FROM t WHERE name = 'it''s; DELETE FROM t'", false },
        new object[] { "SELECT $$; DELETE FROM t; $$", false },
        new object[] { "SELECT $body$ DROP TABLE t $body$ AS x", false },
        new object[] { "SELECT * FROM t WHERE id = $1", false },
        new object[] { "SHOW search_path", false },
        new object[] { "EXPLAIN SELECT * FROM t", false },
        new object[] { "EXPLAIN QUERY PLAN SELECT * FROM t", false },
        new object[] { "VALUES (1), (2)", false },
        new object[] { "TABLE users", false },
        new object[] { "DESCRIBE users", false },
        new object[] { "WITH x AS (SELECT 1 AS a) SELECT a FROM x", false },
        new object[] { "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT * FROM n", false },
        new object[] { "SELECT TOP 10 * FROM dbo.users WITH (NOLOCK)", false },
        new object[] { "SELECT * FROM t LIMIT 10 OFFSET 5", false },

        // writes
        new object[] { "INSERT INTO t (a) VALUES (1)", true },
        new object[] { "insert into t values (1) returning id", true },
        new object[] { "UPDATE t SET a = 1 WHERE id = 2", true },
        new object[] { "DELETE FROM t WHERE id = 2", true },
        new object[] { "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a;", true },
        new object[] { "UPSERT INTO t (id) VALUES (1)", true },
        new object[] { "REPLACE INTO t (id) VALUES (1)", true },
        new object[] { "CREATE TABLE t (id int)", true },
        new object[] { "ALTER TABLE t ADD COLUMN b int", true },
        new object[] { "DROP TABLE t", true },
        new object[] { "TRUNCATE t", true },
        new object[] { "SELECT * INTO new_table FROM t", true },
        new object[] { "SELECT a, b INTO #temp FROM t", true },
        new object[] { "SELECT * FROM t WHERE id = 1 FOR UPDATE", true },
        new object[] { "SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED", true },
        new object[] { "SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE", true },
        new object[] { "SELECT * FROM t WITH (UPDLOCK, ROWLOCK) WHERE id = 1", true },
        new object[] { "WITH moved AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM moved", true },
        new object[] { "WITH x AS (UPDATE t SET a = 1 RETURNING id) SELECT * FROM x", true },
        new object[] { "WITH x AS (SELECT 1 AS a) SELECT a INTO y FROM x", true },
        new object[] { "EXPLAIN ANALYZE SELECT * FROM t", true },
        new object[] { "EXPLAIN (ANALYZE, BUFFERS) DELETE FROM t", true },
        new object[] { "SELECT 1; DELETE FROM t", true },
        new object[] { "SELECT 1;\nUPDATE t SET a = 2", true },
        new object[] { "EXEC dbo.do_things @a = 1", true },
        new object[] { "CALL do_things(1)", true },
        new object[] { "SET search_path TO app", true },
        new object[] { "PRAGMA foreign_keys = ON", true },
        new object[] { "BEGIN; UPDATE t SET a = 1; COMMIT", true },
        new object[] { "DO $$ BEGIN PERFORM 1; END $$", true },
        new object[] { "VACUUM", true },
        new object[] { "GRANT SELECT ON t TO app", true },
        new object[] { "", true },
        new object[] { "   ", true },
        new object[] { "-- only a comment", true },
        new object[] { "SELECT pg_advisory_lock(1)", false },

        // sequences advance on every strand, or their next values part (contract amendment 24)
        new object[] { "SELECT nextval('s')", true },
        new object[] { "select NEXTVAL('\"Orders_seq\"')", true },
        new object[] { "SELECT setval('s', 42)", true },
        new object[] { "SELECT NEXT VALUE FOR dbo.s", true },
        new object[] { "SELECT id, NEXTVAL(s) FROM t", true },
        new object[] { "WITH n AS (SELECT nextval('s') AS v) SELECT v FROM n", true },
        new object[] { "SELECT currval('s')", false },
        new object[] { "SELECT lastval()", false },
        new object[] { "SELECT 'nextval(s)'", false },
        new object[] { "SELECT \"nextval\" FROM t", false },
        new object[] { "SELECT next_value FROM t", false },
        new object[] { "/* helix:read */ SELECT nextval('s')", false },

        // hints
        new object[] { "/* helix:write */ SELECT nextval('s')", true },
        new object[] { "/*helix:write*/SELECT pg_advisory_lock(1)", true },
        new object[] { "-- helix:write\nSELECT set_config('a', 'b', false)", true },
        new object[] { "/* helix:read */ UPDATE t SET a = a WHERE false", false },
        new object[] { "/* HELIX:READ */ CALL report()", false },
        new object[] { "SELECT /* helix:write */ 1", false },
        new object[] { "/* helix:read */ SELECT 1; DELETE FROM t", true },
        new object[] { "/* helix:read */ SELECT 1; /* helix:read */ SELECT 2", false },

        // dialect ambiguities resolve to write
        new object[] { "SELECT 'C:\\'; DELETE FROM t", true },
        new object[] { "SELECT 'it\\'s'; DELETE FROM t", true },
        new object[] { "SELECT 'x\\''; DELETE FROM t", true },
        new object[] { "SELECT 1 /* outer /* inner */ ; DELETE FROM t", true },
        new object[] { "SELECT E'a\\'b; DELETE FROM t'", false },
    ];

    [TestCaseSource(nameof(Texts))]
    public void Classifies_text(string text, bool isWrite) =>
        Assert.That(SqlClassifier.Analyze(text).IsWrite, Is.EqualTo(isWrite), text);

    private static readonly object[] SessionTexts =
    [
        new object[] { "SET search_path TO tenant", true },
        new object[] { "set search_path = tenant, public", true },
        new object[] { "SET SESSION search_path TO tenant", true },
        new object[] { "SET TIME ZONE 'UTC'", true },
        new object[] { "SET app.tenant = 'a'", true },
        new object[] { "SET NAMES utf8mb4", true },
        new object[] { "SET @x = 1", true },
        new object[] { "RESET ALL", true },
        new object[] { "SELECT set_config('app.tenant', 'a', false)", true },
        new object[] { "SELECT set_config('app.tenant', @tenant, @local)", true },
        new object[] { "INSERT INTO t VALUES (1); SET search_path TO tenant", true },
        new object[] { "/* helix:read */ SET search_path TO tenant", true },
        new object[] { "SET LOCAL search_path TO tenant", false },
        new object[] { "SET LOCAL statement_timeout = 100", false },
        new object[] { "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", false },
        new object[] { "SET CONSTRAINTS ALL DEFERRED", false },
        new object[] { "SET statement_timeout = 5000", false },
        new object[] { "SET SESSION lock_timeout = '1s'", false },
        new object[] { "SET application_name = 'worker'", false },
        new object[] { "SET NOCOUNT ON", false },
        new object[] { "SELECT set_config('app.tenant', 'a', true)", false },
        new object[] { "SELECT set_config('app.tenant', 'a', true), set_config('search_path', 'x', false)", true },
        new object[] { "UPDATE t SET v = 1", false },
        new object[] { "INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = 2", false },
        new object[] { "ALTER TABLE t SET SCHEMA tenant", false },
        new object[] { "SELECT 'SET search_path TO x'", false },
    ];

    [TestCaseSource(nameof(SessionTexts))]
    public void Knows_a_text_that_changes_the_session(string text, bool changesSession) =>
        Assert.That(SqlClassifier.Analyze(text).ChangesSession, Is.EqualTo(changesSession), text);

    // Amendment 43: a transaction's own settings run on every strand (a write) and replay in a transaction of their own.
    [TestCase("SET LOCAL app.tenant = 'acme'", true)]
    [TestCase("set local search_path to tenant", true)]
    [TestCase("SELECT set_config('app.tenant', @tenant, true)", true)]
    [TestCase("SELECT set_config('app.tenant', upper(@tenant), TRUE)", true)]
    [TestCase("SELECT pg_catalog.set_config('app.tenant', 'a', true); INSERT INTO t VALUES (1)", true)]
    [TestCase("SELECT set_config('app.tenant', 'a', @local)", false)]
    [TestCase("SELECT set_config('app.tenant', 'a', false)", false)]
    [TestCase("SET LOCAL statement_timeout = 100", false)]
    [TestCase("SELECT current_setting('app.tenant')", false)]
    public void Knows_a_text_that_sets_something_for_its_transaction(string text, bool setsTransactionLocal)
    {
        var info = SqlClassifier.Analyze(text);
        Assert.That(info.SetsTransactionLocal, Is.EqualTo(setsTransactionLocal), text);
        if (setsTransactionLocal)
        {
            Assert.That(info.IsWrite, Is.True, "it must hold on every strand the transaction writes");
        }
    }

    private static readonly object?[] NondeterministicTexts =
    [
        // stored: each strand would keep its own value
        new object?[] { "INSERT INTO t (id, at) VALUES (@id, now())", "now()" },
        new object?[] { "insert into t values (@id, NOW ())", "NOW()" },
        new object?[] { "UPDATE t SET seen = CURRENT_TIMESTAMP WHERE id = @id", "CURRENT_TIMESTAMP" },
        new object?[] { "UPDATE t SET seen = pg_catalog.clock_timestamp() WHERE id = @id", "clock_timestamp()" },
        new object?[] { "UPDATE t SET epoch = EXTRACT(EPOCH FROM now())", "now()" },
        new object?[] { "INSERT INTO t (id) VALUES (gen_random_uuid())", "gen_random_uuid()" },
        new object?[] { "INSERT INTO t (id, n) VALUES (UUID(), RAND())", "UUID()" },
        new object?[] { "INSERT INTO t (id) VALUES (nextval('t_id_seq'))", "nextval()" },
        new object?[] { "INSERT INTO t (id) VALUES (NEXT VALUE FOR t_ids)", "NEXT VALUE FOR" },
        new object?[] { "INSERT INTO lines (order_id, sku) VALUES (LAST_INSERT_ID(), @sku)", "LAST_INSERT_ID()" },
        new object?[] { "INSERT INTO lines (order_id, sku) VALUES (lastval(), @sku)", "lastval()" },
        new object?[] { "INSERT INTO lines (order_id, sku) VALUES (SCOPE_IDENTITY(), @sku)", "SCOPE_IDENTITY()" },
        new object?[] { "INSERT INTO lines (order_id, sku) VALUES (last_insert_rowid(), @sku)", "last_insert_rowid()" },
        new object?[] { "INSERT INTO t (at) VALUES (datetime('now'))", "datetime('now')" },
        new object?[] { "UPDATE t SET at = strftime('%s', 'NOW')", "strftime('now')" },
        new object?[] { "UPDATE t SET at = unixepoch()", "unixepoch()" },
        new object?[] { "INSERT INTO t (a) VALUES (random())", "random()" },
        new object?[] { "DELETE FROM sessions WHERE expires < now()", "now()" },
        new object?[] { "INSERT INTO t (id, at) VALUES (@id, GETUTCDATE())", "GETUTCDATE()" },
        new object?[] { "INSERT INTO t VALUES (@id, SYSDATE)", "SYSDATE" },
        new object?[] { "INSERT INTO t (id, at) VALUES (@id, @at) ON CONFLICT (id) DO UPDATE SET at = now()", "now()" },
        new object?[] { "CREATE TABLE t (id int, at timestamptz DEFAULT now())", "now()" },
        new object?[] { "ALTER TABLE t ADD COLUMN at timestamptz DEFAULT CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP" },
        new object?[] { "WITH x AS (SELECT now() AS at) INSERT INTO t SELECT at FROM x", "now()" },
        new object?[] { "SELECT now() AS at INTO t2", "now()" },
        new object?[] { "/* helix:write */ SELECT record_visit(@id, now())", "now()" },
        new object?[] { "SELECT 1; INSERT INTO t VALUES (now())", "now()" },
        new object?[] { "SELECT now(); UPDATE t SET at = CURRENT_DATE", "CURRENT_DATE" },
        new object?[] { "UPDATE jobs SET taken = true WHERE id = (SELECT id FROM jobs WHERE NOT taken ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id", "SKIP LOCKED" },
        new object?[] { "DELETE FROM log LIMIT 100", "LIMIT without ORDER BY" },
        new object?[] { "DELETE FROM log WHERE id IN (SELECT id FROM log LIMIT 100)", "LIMIT without ORDER BY" },
        new object?[] { "DELETE TOP (100) FROM log", "TOP without ORDER BY" },
        new object?[] { "INSERT INTO archive SELECT * FROM log FETCH FIRST 10 ROWS ONLY", "FETCH FIRST without ORDER BY" },
        new object?[] { "INSERT INTO archive (SELECT * FROM a ORDER BY id) UNION ALL (SELECT * FROM b LIMIT 5)", "LIMIT without ORDER BY" },
        new object?[] { "UPDATE accounts SET balance = @balance WHERE id = @id AND xmin = @seen::xid", "xmin (a PostgreSQL system column)" },
        new object?[] { "DELETE FROM t a USING t b WHERE a.ctid < b.ctid AND a.k = b.k", "ctid (a PostgreSQL system column)" },
        new object?[] { "UPDATE t SET at = now() WHERE xmin = @seen::xid", "now()" },

        // not stored, not a call, or not one of them
        new object?[] { "SELECT now()", null },
        new object?[] { "SELECT * FROM t WHERE at < now() FOR UPDATE", null },
        new object?[] { "SELECT nextval('t_id_seq')", null },
        new object?[] { "DELETE FROM log WHERE id IN (SELECT id FROM log ORDER BY id LIMIT 100)", null },
        new object?[] { "DELETE FROM log ORDER BY id LIMIT 100", null },
        new object?[] { "UPDATE t SET credit_limit = 5 WHERE id = @id", null },
        new object?[] { "SELECT id FROM jobs LIMIT 1 FOR UPDATE SKIP LOCKED", null },
        new object?[] { "CREATE VIEW v AS SELECT now() AS at", null },
        new object?[] { "INSERT INTO t (id, at) VALUES (@id, @at)", null },
        new object?[] { "UPDATE t SET version = @helix_ts WHERE version < @helix_ts", null },
        new object?[] { "INSERT INTO uuid (id) VALUES (@id)", null },
        new object?[] { "INSERT INTO app.rand (id) VALUES (@id)", null },
        new object?[] { "INSERT rand (id) VALUES (@id)", null },
        new object?[] { "CREATE TABLE IF NOT EXISTS random (id int)", null },
        new object?[] { "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES uuid (id)", null },
        new object?[] { "INSERT INTO t (uuid, now, random) VALUES (@uuid, @now, @random)", null },
        new object?[] { "UPDATE t SET random = 1, \"now\" = 2", null },
        new object?[] { "INSERT INTO t (note) VALUES ('now()')", null },
        new object?[] { "INSERT INTO t (a) SELECT a FROM u -- now()", null },
        new object?[] { "INSERT INTO t (at) VALUES (datetime(@at))", null },
        new object?[] { "UPDATE t SET at = unix_timestamp(@at)", null },
        new object?[] { "/* helix:read */ SELECT * FROM t WHERE at < now()", null },
        new object?[] { "SELECT id, xmin FROM accounts WHERE id = @id", null },
        new object?[] { "UPDATE \"Accounts\" SET \"Balance\" = @p0 WHERE \"Id\" = @p1 AND \"xmin\" = @p2", null }, // EF Core's token: amendment 29
    ];

    [TestCaseSource(nameof(NondeterministicTexts))]
    public void Finds_a_call_each_strand_would_evaluate_for_itself_in_a_statement_that_stores_it(string text, string? call) =>
        Assert.That(SqlClassifier.Analyze(text).NondeterministicCall, Is.EqualTo(call), text);

    private static readonly object?[] LastGeneratedKeyTexts =
    [
        new object?[] { "SELECT LAST_INSERT_ID()", "LAST_INSERT_ID()" },
        new object?[] { "select last_insert_rowid()", "last_insert_rowid()" },
        new object?[] { "SELECT lastval()", "lastval()" },
        new object?[] { "SELECT currval('orders_id_seq')", "currval()" },
        new object?[] { "SELECT CAST(SCOPE_IDENTITY() AS int)", "SCOPE_IDENTITY()" },
        new object?[] { "INSERT INTO orders (name) VALUES (@name); SELECT LAST_INSERT_ID()", "LAST_INSERT_ID()" },
        new object?[] { "INSERT INTO lines (order_id) VALUES (LAST_INSERT_ID())", null }, // stored: a nondeterministic write
        new object?[] { "SELECT now()", null },
        new object?[] { "SELECT last_insert_id FROM audit", null },
    ];

    [TestCaseSource(nameof(LastGeneratedKeyTexts))]
    public void Finds_a_read_of_the_key_the_session_s_last_insert_generated(string text, string? call) =>
        Assert.That(SqlClassifier.Analyze(text).LastGeneratedKeyRead, Is.EqualTo(call), text);

    [Test]
    public void Repeated_and_alternating_texts_keep_their_own_answers()
    {
        // First sight, the last text again (same string, then an equal one), and a text seen before another.
        var write = "UPDATE t SET v = @helix_ts WHERE id = @id /* repeated */";
        var read = "SELECT v FROM t WHERE id = @id /* repeated */";
        for (var round = 0; round < 3; round++)
        {
            Assert.Multiple(() =>
            {
                Assert.That(SqlClassifier.Analyze(write), Is.EqualTo(new SqlTextInfo(true, "@helix_ts")), $"round {round}");
                Assert.That(SqlClassifier.Analyze(new string(write.AsSpan())), Is.EqualTo(new SqlTextInfo(true, "@helix_ts")), $"round {round}");
                Assert.That(SqlClassifier.Analyze(read), Is.EqualTo(new SqlTextInfo(false, null)), $"round {round}");
                Assert.That(SqlClassifier.Analyze(read), Is.EqualTo(new SqlTextInfo(false, null)), $"round {round}");
            });
        }
    }

    [Test]
    public void Stored_procedures_are_writes_and_table_direct_is_a_read()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SqlClassifier.IsWrite(CommandType.StoredProcedure, "get_user"), Is.True);
            Assert.That(SqlClassifier.IsWrite(CommandType.TableDirect, "users"), Is.False);
        });
    }

    [TestCase("INSERT INTO t (v) VALUES (@helix_ts)", "@helix_ts")]
    [TestCase("UPDATE t SET v = :helix_ts WHERE id = :id", ":helix_ts")]
    [TestCase("INSERT INTO t VALUES ($id, $helix_ts)", "$helix_ts")]
    [TestCase("UPDATE t SET v = @HELIX_TS", "@HELIX_TS")]
    [TestCase("UPDATE t SET v = @helix_tsx", null)]
    [TestCase("SELECT '@helix_ts'", null)]
    [TestCase("SELECT x::helix_ts FROM t", null)]
    [TestCase("SELECT @@helix_ts", null)]
    [TestCase("-- @helix_ts\nSELECT 1", null)]
    public void Finds_the_timestamp_parameter(string text, string? expected) =>
        Assert.That(SqlClassifier.Analyze(text).TimestampParameter, Is.EqualTo(expected));
}
