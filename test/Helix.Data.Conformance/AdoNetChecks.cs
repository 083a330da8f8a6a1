using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text;

namespace Helix.Data.Conformance;

/// <summary>
/// ADO.NET behaviour checks. Each returns a short description of what it observed (values, exception types, event
/// sequences), so that the comparison can run it against a plain provider and against Helix.Data and report every
/// difference. Checks never compare exception messages: providers word them differently.
/// </summary>
public static class AdoNetChecks
{
    private static int _tables;

    /// <summary>Every check, by name.</summary>
    public static IReadOnlyDictionary<string, Func<ConformanceTarget, string>> All { get; } = new Dictionary<string, Func<ConformanceTarget, string>>(StringComparer.Ordinal)
    {
        ["connection: state through open and close"] = t =>
        {
            using var c = t.CreateConnection();
            var before = c.State;
            c.Open();
            var open = c.State;
            c.Close();
            return $"{before} {open} {c.State}";
        },
        ["connection: open twice"] = t => Observe(() =>
        {
            using var c = Open(t);
            c.Open();
            return null;
        }),
        ["connection: close twice"] = t => Observe(() =>
        {
            using var c = Open(t);
            c.Close();
            c.Close();
            return c.State;
        }),
        ["connection: StateChange events"] = t =>
        {
            using var c = t.CreateConnection();
            var events = new List<string>();
            c.StateChange += (_, e) => events.Add($"{e.OriginalState}>{e.CurrentState}");
            c.Open();
            c.Close();
            c.Open();
            c.Dispose();
            return string.Join(",", events);
        },
        ["connection: ServerVersion when closed"] = t => Observe(() => t.CreateConnection().ServerVersion),
        ["connection: ServerVersion when open is not empty"] = t => Observe(() =>
        {
            using var c = Open(t);
            return !string.IsNullOrEmpty(c.ServerVersion);
        }),
        ["connection: BeginTransaction when closed"] = t => Observe(() => t.CreateConnection().BeginTransaction()),
        ["connection: open after dispose"] = t => Observe(() =>
        {
            var c = t.CreateConnection();
            c.Dispose();
            c.Open();
            var state = c.State;
            c.Dispose();
            return state;
        }),
        ["connection: CreateCommand sets the connection"] = t =>
        {
            using var c = t.CreateConnection();
            using var command = c.CreateCommand();
            return (command.Connection == c).ToString();
        },
        ["connection: GetSchema"] = t => Observe(() =>
        {
            using var c = Open(t);
            return c.GetSchema().Rows.Count > 0;
        }),
        ["connection: CanCreateBatch"] = t =>
        {
            using var c = Open(t);
            return c.CanCreateBatch.ToString();
        },
        ["command: defaults"] = t =>
        {
            using var c = t.CreateConnection();
            using var command = c.CreateCommand();
            return $"timeout={command.CommandTimeout} type={command.CommandType} text='{command.CommandText}' rowsource={command.UpdatedRowSource}";
        },
        ["command: ExecuteScalar"] = t => Scalar(t, "SELECT 42"),
        ["command: ExecuteScalar of no rows"] = t => Scalar(t, "SELECT 1 WHERE 1 = 0"),
        ["command: ExecuteScalar of NULL"] = t => Scalar(t, "SELECT NULL"),
        ["command: ExecuteScalar of a string"] = t => Scalar(t, "SELECT 'héllo'"),
        ["command: ExecuteNonQuery insert, update, update of nothing, delete"] = t =>
        {
            using var c = Open(t);
            var table = Table(c, t.Dialect);
            return string.Join(",",
                NonQuery(c, $"INSERT INTO {table} (id, name) VALUES (1, 'a'), (2, 'b')"),
                NonQuery(c, $"UPDATE {table} SET name = 'c' WHERE id = 1"),
                NonQuery(c, $"UPDATE {table} SET name = 'c' WHERE id = 99"),
                NonQuery(c, $"DELETE FROM {table}"));
        },
        ["command: ExecuteNonQuery of a query"] = t => Observe(() =>
        {
            using var c = Open(t);
            return NonQuery(c, "SELECT 1");
        }),
        ["command: ExecuteReader on a closed connection"] = t => Observe(() =>
        {
            using var c = t.CreateConnection();
            using var command = c.CreateCommand();
            command.CommandText = "SELECT 1";
            return command.ExecuteReader();
        }),
        ["command: execute without a connection"] = t => Observe(() =>
        {
            using var c = t.CreateConnection();
            using var command = c.CreateCommand();
            command.Connection = null;
            command.CommandText = "SELECT 1";
            return command.ExecuteScalar();
        }),
        ["command: syntax error"] = t => Observe(() =>
        {
            using var c = Open(t);
            return NonQuery(c, "SELEC 1");
        }),
        ["command: unknown table"] = t => Observe(() =>
        {
            using var c = Open(t);
            return Scalar(c, "SELECT * FROM no_such_table_here");
        }),
        ["command: missing parameter"] = t => Observe(() =>
        {
            using var c = Open(t);
            using var command = c.CreateCommand();
            command.CommandText = "SELECT @missing";
            return command.ExecuteScalar();
        }),
        ["command: DBNull parameter"] = t => Observe(() =>
        {
            using var c = Open(t);
            using var command = c.CreateCommand();
            command.CommandText = t.Dialect == Dialect.PostgreSql ? "SELECT @p::int IS NULL" : "SELECT @p IS NULL";
            AddParameter(command, "p", DBNull.Value);
            return command.ExecuteScalar();
        }),
        ["command: parameter reused with a new value"] = t =>
        {
            using var c = Open(t);
            using var command = c.CreateCommand();
            command.CommandText = t.Dialect == Dialect.PostgreSql ? "SELECT @p::int * 2" : "SELECT @p * 2";
            var parameter = AddParameter(command, "p", 1);
            var first = command.ExecuteScalar();
            parameter.Value = 21;
            return $"{first} {command.ExecuteScalar()}";
        },
        ["command: prepared and run twice"] = t => Observe(() =>
        {
            using var c = Open(t);
            using var command = c.CreateCommand();
            command.CommandText = t.Dialect == Dialect.PostgreSql ? "SELECT @p::int + 1" : "SELECT @p + 1";
            var parameter = AddParameter(command, "p", 1);
            command.Prepare();
            var first = command.ExecuteScalar();
            parameter.Value = 2;
            return $"{first} {command.ExecuteScalar()}";
        }),
        ["command: Cancel when idle"] = t => Observe(() =>
        {
            using var c = Open(t);
            using var command = c.CreateCommand();
            command.Cancel();
            return "ok";
        }),
        ["command: a second reader while one is open"] = t => Observe(() =>
        {
            using var c = Open(t);
            using var first = c.CreateCommand();
            first.CommandText = "SELECT 1";
            using var reader = first.ExecuteReader();
            using var second = c.CreateCommand();
            second.CommandText = "SELECT 2";
            return second.ExecuteScalar();
        }),
        ["command: async execute"] = t =>
        {
            using var c = Open(t);
            using var command = c.CreateCommand();
            command.CommandText = "SELECT 7";
            return Describe(command.ExecuteScalarAsync().GetAwaiter().GetResult());
        },
        ["reader: metadata of typed columns"] = t =>
        {
            using var c = Open(t);
            using var reader = Reader(c, TypedRow(t.Dialect));
            var columns = Enumerable.Range(0, reader.FieldCount).Select(i => $"{reader.GetName(i)}:{reader.GetFieldType(i).Name}");
            return $"{reader.FieldCount} {string.Join(",", columns)} ordinal(B)={reader.GetOrdinal("B")}";
        },
        ["reader: typed getters"] = t =>
        {
            using var c = Open(t);
            using var reader = Reader(c, TypedRow(t.Dialect));
            reader.Read();
            return string.Join(",", reader.GetInt32(0), reader.GetInt64(1), reader.GetString(2), reader.GetDouble(3).ToString(CultureInfo.InvariantCulture), reader.IsDBNull(4), reader.GetFieldValue<string>(2));
        },
        ["reader: GetValues"] = t =>
        {
            using var c = Open(t);
            using var reader = Reader(c, TypedRow(t.Dialect));
            reader.Read();
            var values = new object[reader.FieldCount];
            var count = reader.GetValues(values);
            return $"{count} {string.Join(",", values.Select(Describe))}";
        },
        ["reader: HasRows and Read on no rows"] = t =>
        {
            using var c = Open(t);
            using var reader = Reader(c, "SELECT 1 WHERE 1 = 0");
            return $"{reader.HasRows} {reader.Read()}";
        },
        ["reader: GetValue after the last row"] = t => Observe(() =>
        {
            using var c = Open(t);
            using var reader = Reader(c, "SELECT 1");
            reader.Read();
            reader.Read();
            return reader.GetValue(0);
        }),
        ["reader: GetValue before Read"] = t => Observe(() =>
        {
            using var c = Open(t);
            using var reader = Reader(c, "SELECT 1");
            return reader.GetValue(0);
        }),
        ["reader: out-of-range ordinal"] = t => Observe(() =>
        {
            using var c = Open(t);
            using var reader = Reader(c, "SELECT 1");
            reader.Read();
            return reader.GetValue(5);
        }),
        ["reader: NextResult over two statements"] = t =>
        {
            using var c = Open(t);
            using var reader = Reader(c, "SELECT 1; SELECT 2");
            reader.Read();
            var first = reader.GetValue(0);
            var next = reader.NextResult();
            reader.Read();
            return $"{Describe(first)} {next} {Describe(reader.GetValue(0))} {reader.NextResult()}";
        },
        ["reader: RecordsAffected of a query and of an update"] = t =>
        {
            using var c = Open(t);
            var table = Table(c, t.Dialect);
            NonQuery(c, $"INSERT INTO {table} (id, name) VALUES (1, 'a'), (2, 'b')");
            int query;
            using (var reader = Reader(c, $"SELECT * FROM {table}"))
            {
                while (reader.Read())
                {
                }

                reader.Close();
                query = reader.RecordsAffected;
            }

            using var update = Reader(c, $"UPDATE {table} SET name = 'z'");
            update.Close();
            return $"{query} {update.RecordsAffected}";
        },
        ["reader: state after Close"] = t =>
        {
            using var c = Open(t);
            var reader = Reader(c, "SELECT 1");
            reader.Close();
            var closed = reader.IsClosed;
            reader.Dispose();
            return $"{closed} {c.State}";
        },
        ["reader: GetSchemaTable column names"] = t =>
        {
            using var c = Open(t);
            using var reader = Reader(c, "SELECT 1 AS a, 'x' AS b");
            var schema = reader.GetSchemaTable();
            return schema is null ? "null" : string.Join(",", schema.Rows.Cast<DataRow>().Select(r => r["ColumnName"]));
        },
        ["reader: GetColumnSchema"] = t =>
        {
            using var c = Open(t);
            using var reader = Reader(c, "SELECT 1 AS a, 'x' AS b");
            return string.Join(",", reader.GetColumnSchema().Select(col => col.ColumnName));
        },
        ["reader: GetStream and GetTextReader"] = t =>
        {
            using var c = Open(t);
            var table = Table(c, t.Dialect);
            NonQuery(c, $"ALTER TABLE {table} ADD COLUMN data {(t.Dialect == Dialect.PostgreSql ? "bytea" : "BLOB")}");
            NonQuery(c, $"INSERT INTO {table} (id, name, data) VALUES (1, 'text value', {(t.Dialect == Dialect.PostgreSql ? "'\\x010203'::bytea" : "x'010203'")})");

            // Microsoft.Data.Sqlite streams blobs of table columns; a blob computed by the query itself crashes it.
            using var reader = Reader(c, $"SELECT data, name FROM {table}");
            reader.Read();
            using var stream = reader.GetStream(0);
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            using var text = reader.GetTextReader(1);
            return $"{Convert.ToHexString(buffer.ToArray())} {text.ReadToEnd()}";
        },
        ["reader: async reading"] = t =>
        {
            using var c = Open(t);
            using var command = c.CreateCommand();
            command.CommandText = "SELECT 1 UNION ALL SELECT 2";
            using var reader = command.ExecuteReaderAsync().GetAwaiter().GetResult();
            var values = new List<string>();
            while (reader.ReadAsync().GetAwaiter().GetResult())
            {
                values.Add(Describe(reader.GetFieldValueAsync<object>(0).GetAwaiter().GetResult()));
            }

            return string.Join(",", values);
        },
        ["transaction: commit keeps, rollback discards"] = t =>
        {
            using var c = Open(t);
            var table = Table(c, t.Dialect);
            using (var tx = c.BeginTransaction())
            {
                NonQuery(c, $"INSERT INTO {table} (id, name) VALUES (1, 'kept')", tx);
                tx.Commit();
            }

            using (var tx = c.BeginTransaction())
            {
                NonQuery(c, $"INSERT INTO {table} (id, name) VALUES (2, 'dropped')", tx);
                tx.Rollback();
            }

            return Scalar(c, $"SELECT count(*) FROM {table}");
        },
        ["transaction: command without Transaction set"] = t => Observe(() =>
        {
            using var c = Open(t);
            var table = Table(c, t.Dialect);
            using var tx = c.BeginTransaction();
            return NonQuery(c, $"INSERT INTO {table} (id, name) VALUES (1, 'x')");
        }),
        ["transaction: nested BeginTransaction"] = t => Observe(() =>
        {
            using var c = Open(t);
            using var tx = c.BeginTransaction();
            return c.BeginTransaction();
        }),
        ["transaction: savepoint rollback"] = t =>
        {
            using var c = Open(t);
            var table = Table(c, t.Dialect);
            using var tx = c.BeginTransaction();
            NonQuery(c, $"INSERT INTO {table} (id, name) VALUES (1, 'a')", tx);
            tx.Save("sp");
            NonQuery(c, $"INSERT INTO {table} (id, name) VALUES (2, 'b')", tx);
            tx.Rollback("sp");
            tx.Commit();
            return $"{tx.SupportsSavepoints} {Scalar(c, $"SELECT count(*) FROM {table}")}";
        },
        ["transaction: Connection after commit and IsolationLevel"] = t =>
        {
            using var c = Open(t);
            var tx = c.BeginTransaction(IsolationLevel.Serializable);
            var level = tx.IsolationLevel;
            tx.Commit();
            return $"{level} {tx.Connection is null}";
        },
        ["transaction: commit twice"] = t => Observe(() =>
        {
            using var c = Open(t);
            var tx = c.BeginTransaction();
            tx.Commit();
            tx.Commit();
            return null;
        }),
        ["transaction: a read inside it"] = t => Observe(() =>
        {
            using var c = Open(t);
            var table = Table(c, t.Dialect);
            using var tx = c.BeginTransaction();
            NonQuery(c, $"INSERT INTO {table} (id, name) VALUES (1, 'x')", tx);
            using var command = c.CreateCommand();
            command.Transaction = tx;
            command.CommandText = $"SELECT count(*) FROM {table}";
            return command.ExecuteScalar();
        }),
        ["transaction: a command created after BeginTransaction"] = t => Observe(() =>
        {
            using var c = Open(t);
            var table = Table(c, t.Dialect);
            using var tx = c.BeginTransaction();
            using var command = c.CreateCommand();
            command.CommandText = $"INSERT INTO {table} (id, name) VALUES (1, 'x')";
            var rows = command.ExecuteNonQuery();
            tx.Rollback();
            return $"{rows} {Scalar(c, $"SELECT count(*) FROM {table}")}";
        }),
        ["transaction: Transaction property of a command created after BeginTransaction"] = t =>
        {
            using var c = Open(t);
            using var tx = c.BeginTransaction();
            using var command = c.CreateCommand();
            return (command.Transaction == tx).ToString();
        },
        ["transaction: Commit after Dispose"] = t => Observe(() =>
        {
            using var c = Open(t);
            var tx = c.BeginTransaction();
            tx.Dispose();
            tx.Commit();
            return null;
        }),
        ["transaction: Rollback after Dispose"] = t => Observe(() =>
        {
            using var c = Open(t);
            var tx = c.BeginTransaction();
            tx.Dispose();
            tx.Rollback();
            return null;
        }),
        ["command: CommandText changed while its reader is open"] = t => Observe(() =>
        {
            using var c = Open(t);
            using var command = c.CreateCommand();
            command.CommandText = "SELECT 1";
            using var reader = command.ExecuteReader();
            command.CommandText = "SELECT 2";
            return command.CommandText;
        }),
        ["command: Connection changed while its reader is open"] = t => Observe(() =>
        {
            using var c = Open(t);
            using var other = t.CreateConnection();
            using var command = c.CreateCommand();
            command.CommandText = "SELECT 1";
            using var reader = command.ExecuteReader();
            command.Connection = other;
            return command.Connection == other;
        }),
        ["command: ExecuteScalarAsync with a cancelled token"] = t => Outcome(() =>
        {
            using var c = Open(t);
            using var command = c.CreateCommand();
            command.CommandText = "SELECT 1";
            return command.ExecuteScalarAsync(new CancellationToken(canceled: true));
        }),
        ["command: ExecuteNonQueryAsync with a cancelled token"] = t => Outcome(() =>
        {
            using var c = Open(t);
            using var command = c.CreateCommand();
            command.CommandText = "SELECT 1";
            return command.ExecuteNonQueryAsync(new CancellationToken(canceled: true));
        }),
        ["command: ExecuteReaderAsync with a cancelled token"] = t => Outcome(() =>
        {
            using var c = Open(t);
            using var command = c.CreateCommand();
            command.CommandText = "SELECT 1";
            return command.ExecuteReaderAsync(new CancellationToken(canceled: true));
        }),
        ["connection: OpenAsync with a cancelled token"] = t =>
        {
            using (Open(t))
            {
                // a pooled connection is there to take, as it mostly is: Npgsql then opens in spite of the token
            }

            using var c = t.CreateConnection();
            return $"{Outcome(() => c.OpenAsync(new CancellationToken(canceled: true)))} {c.State}";
        },
        ["command: Transaction of another connection"] = t => Observe(() =>
        {
            using var c = Open(t);
            using var other = Open(t);
            using var tx = other.BeginTransaction();
            using var command = c.CreateCommand();
            command.CommandText = "SELECT 1";
            command.Transaction = tx;
            return command.ExecuteScalar();
        }),
        ["connection: open with an empty connection string"] = t => Observe(() =>
        {
            using var c = t.CreateConnection();
            c.ConnectionString = string.Empty;
            c.Open();
            return c.State;
        }),
        ["provider: the factory's parameter"] = t =>
        {
            using var c = t.CreateConnection();
            var parameter = DbProviderFactories.GetFactory(c)!.CreateParameter()!;
            return $"{parameter.DbType} {parameter.Direction} {parameter.Size} {Describe(parameter.Value)} nullable={parameter.IsNullable}";
        },
        ["provider: factory and connection type names"] = t =>
        {
            using var c = t.CreateConnection();
            return $"{DbProviderFactories.GetFactory(c)?.GetType().Name} {c.GetType().Name}";
        },
    };

    /// <summary>Runs one check, turning an exception the check itself did not expect into an observation too.</summary>
    public static string Run(string check, ConformanceTarget target)
    {
        try
        {
            return All[check](target);
        }
#pragma warning disable CA1031 // an unexpected exception is an observation like any other
        catch (Exception e)
#pragma warning restore CA1031
        {
            return "unexpected " + e.GetType().Name;
        }
    }

    private static string Observe(Func<object?> action)
    {
        try
        {
            return "= " + Describe(action());
        }
#pragma warning disable CA1031 // what a provider throws is what the check observes
        catch (Exception e)
#pragma warning restore CA1031
        {
            return "throws " + e.GetType().Name;
        }
    }

    /// <summary>How a task that an asynchronous method returned ended: ran to completion, canceled, or faulted with what.</summary>
    private static string Outcome(Func<Task> start)
    {
        Task task;
        try
        {
            task = start();
        }
#pragma warning disable CA1031 // a synchronous throw is an observation too
        catch (Exception e)
#pragma warning restore CA1031
        {
            return "throws at once " + e.GetType().Name;
        }

        try
        {
            task.Wait();
        }
        catch (AggregateException)
        {
        }

        return task.Status switch
        {
            TaskStatus.Faulted => "faulted " + task.Exception!.InnerException!.GetType().Name,
            TaskStatus.RanToCompletion => "completed" + (task.GetType().GetProperty("Result")?.GetValue(task) is { } result ? " = " + Describe(result) : string.Empty),
            var status => status.ToString(),
        };
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        DBNull => "DBNull",
        string s => $"'{s}'",
        byte[] b => Convert.ToHexString(b),
        IFormattable f => $"{f.ToString(null, CultureInfo.InvariantCulture)}:{value.GetType().Name}",
        DbDataReader => "reader",
        DbTransaction => "transaction",
        _ => value.ToString() ?? value.GetType().Name,
    };

    private static DbConnection Open(ConformanceTarget target)
    {
        var connection = target.CreateConnection();
        connection.Open();
        return connection;
    }

    private static string Scalar(ConformanceTarget target, string sql)
    {
        using var c = Open(target);
        return Scalar(c, sql);
    }

    private static string Scalar(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Describe(command.ExecuteScalar());
    }

    private static int NonQuery(DbConnection connection, string sql, DbTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command.ExecuteNonQuery();
    }

    private static DbDataReader Reader(DbConnection connection, string sql)
    {
        // The command stays undisposed while its reader is used: some providers invalidate the reader with it.
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteReader();
    }

    private static DbParameter AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter;
    }

    /// <summary>Creates a fresh table (id, name) and returns its name.</summary>
    private static string Table(DbConnection connection, Dialect dialect)
    {
        var name = "conformance_" + Interlocked.Increment(ref _tables).ToString(CultureInfo.InvariantCulture) + "_" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        NonQuery(connection, $"DROP TABLE IF EXISTS {name}");
        NonQuery(connection, $"CREATE TABLE {name} (id {(dialect == Dialect.PostgreSql ? "int" : "INTEGER")} PRIMARY KEY, name TEXT)");
        return name;
    }

    private static string TypedRow(Dialect dialect) => dialect == Dialect.PostgreSql
        ? "SELECT 1::int AS a, 2::bigint AS b, 'three'::text AS c, 4.5::float8 AS d, NULL::text AS e"
        : "SELECT 1 AS a, 2 AS b, 'three' AS c, 4.5 AS d, NULL AS e";

    /// <summary>
    /// Runs one check against both targets: <see langword="null"/> when Helix behaves as the plain provider (or differs
    /// where a known difference says it does), else what is wrong.
    /// </summary>
    public static string? Mismatch(string check, ConformanceTarget plain, ConformanceTarget helix, IReadOnlyDictionary<string, string> knownDifferences)
    {
        var (a, b) = (Run(check, plain), Run(check, helix));
        return knownDifferences.TryGetValue(check, out var reason)
            ? a == b ? $"listed as a known difference ({reason}) but now behaves the same: remove it from the test and from docs/compatibility.md" : null
            : a == b ? null : $"plain: {a}; Helix: {b}";
    }

    /// <summary>The comparison as a Markdown table, also written to <c>HELIX_CONFORMANCE_REPORT</c>/<paramref name="fileName"/> when that folder is set.</summary>
    public static string SaveReport(ConformanceTarget plain, ConformanceTarget helix, IReadOnlyDictionary<string, string> knownDifferences, string fileName)
    {
        var report = Report(plain, helix, knownDifferences);
        if (Environment.GetEnvironmentVariable("HELIX_CONFORMANCE_REPORT") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, fileName), report);
        }

        return report;
    }

    /// <summary>Renders a comparison as a Markdown table: every check, what each target did, and whether they differ.</summary>
    public static string Report(ConformanceTarget plain, ConformanceTarget helix, IReadOnlyDictionary<string, string> knownDifferences)
    {
        var builder = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"| check | {plain.Name} | {helix.Name} | |")
            .AppendLine("|---|---|---|---|");
        foreach (var check in All.Keys)
        {
            var a = Run(check, plain);
            var b = Run(check, helix);
            var mark = a == b ? "same" : knownDifferences.ContainsKey(check) ? "known difference" : "**DIFFERENT**";
            builder.AppendLine(CultureInfo.InvariantCulture, $"| {check} | {a.Replace("|", "\\|", StringComparison.Ordinal)} | {b.Replace("|", "\\|", StringComparison.Ordinal)} | {mark} |");
        }

        return builder.ToString();
    }
}
