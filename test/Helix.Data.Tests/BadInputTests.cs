using System.Data;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>Contract section 10: every misuse gets an immediate, specific error naming what was wrong.</summary>
public class BadInputTests
{
    private const string Strands = "Provider=Microsoft.Data.Sqlite;Primary=\"Data Source=:memory:\";Secondary=\"Data Source=:memory:\"";

    [Test]
    public void A_malformed_string_says_it_is_malformed_without_echoing_it()
    {
        var e = Assert.Throws<ArgumentException>(() => _ = new HelixConnection("Helix;Provider=Npgsql;Primary=\"Host=a;Password=s3cret"));
        Assert.Multiple(() =>
        {
            Assert.That(e!.Message, Does.Contain("malformed").And.Contain("quote"));
            Assert.That(e.Message, Does.Not.Contain("s3cret"));
        });
    }

    [Test]
    public void An_unknown_provider_is_named_with_what_is_available()
    {
        var e = Assert.Throws<ArgumentException>(() => _ = new HelixConnection("Provider=No.Such.Provider;Primary=\"Host=a\";Secondary=\"Host=b\""));
        Assert.Multiple(() =>
        {
            Assert.That(e!.ParamName, Is.EqualTo("Primary Provider"));
            Assert.That(e.Message, Does.Contain("'No.Such.Provider'").And.Contain("Microsoft.Data.Sqlite").And.Contain("RegisterFactory"));
        });
    }

    [TestCase("Read Strategy=Stiky", "Read Strategy", "Stiky", "PrimaryOnly (primary-only)")]
    [TestCase("WriteStrategy=Parallel", "Write Strategy", "Parallel", "Concurrent")]
    [TestCase("Failover=Sometimes", "Failover", "Sometimes", "CircuitBreaker (circuit-breaker)")]
    [TestCase("Preferred Strand=Tertiary", "Preferred Strand", "Tertiary", "Secondary")]
    [TestCase("Replay=Kafka", "Replay", "Kafka", "nats://host:port")]
    [TestCase("Replay=file:", "Replay", "file:", "path is missing")]
    [TestCase("Replay Full=Block", "Replay Full", "Block", "Reject")]
    [TestCase("Sticky Cooldown=-1", "Sticky Cooldown", "-1", "0 or more")]
    [TestCase("Sticky Cooldown=5m", "Sticky Cooldown", "5m", "seconds")]
    [TestCase("Circuit Threshold=0", "Circuit Threshold", "0", "1 or more")]
    [TestCase("Circuit Reset=0", "Circuit Reset", "0", "seconds, 1 or more")]
    [TestCase("Latency Cap=fast", "Latency Cap", "fast", "milliseconds")]
    [TestCase("Replay Capacity=0", "Replay Capacity", "0", "1 or more")]
    [TestCase("Replay Memory Limit=lots", "Replay Memory Limit", "lots", "256MB")]
    [TestCase("Replay Memory Limit=512", "Replay Memory Limit", "512", "at least 1KB")]
    [TestCase("ReplayMemoryLimit=2TB", "Replay Memory Limit", "2TB", "KB, MB and GB")]
    [TestCase("Stale Reads=Sometimes", "Stale Reads", "Sometimes", "Never, Allow")]
    [TestCase("Nondeterministic Writes=Never", "Nondeterministic Writes", "Never", "Warn, Refuse, Allow")]
    [TestCase("Replay Worker=maybe", "Replay Worker", "maybe", "true or false")]
    [TestCase("Strand Names=a", "Strand Names", "a", "two different names")]
    [TestCase("Strand Names=a,a", "Strand Names", "a,a", "two different names")]
    [TestCase("Strand Names=a-b,c", "Strand Names", "a-b,c", "letters, digits")]
    [TestCase("Name=my app", "Name", "my app", "letters, digits and '_'")]
    [TestCase("Failback=Later", "Failback", "Later", "Automatic, Manual")]
    [TestCase("Write Order=Concurrent", "Write Order", "Concurrent", "PrimaryFirst (primary-first) or SecondaryFirst")]
    [TestCase("Adaptive Delta=0", "Adaptive Delta", "0", "milliseconds, 1 or more")]
    [TestCase("Adaptive Strikes=0", "Adaptive Strikes", "0", "1 or more")]
    [TestCase("Adaptive Cap=2s", "Adaptive Cap", "2s", "milliseconds")]
    [TestCase("Adaptive Floor=-1", "Adaptive Floor", "-1", "0 or more")]
    [TestCase("Adaptive Recovery=0", "Adaptive Recovery", "0", "1 or more")]
    [TestCase("Replay Batch Size=0", "Replay Batch Size", "0", "1 or more")]
    [TestCase("Replay Max Attempts=none", "Replay Max Attempts", "none", "whole number")]
    [TestCase("Replay Backoff=0", "Replay Backoff", "0", "milliseconds, 1 or more")]
    [TestCase("Replay Poll Interval=0", "Replay Poll Interval", "0", "milliseconds, 1 or more")]
    [TestCase("Healing Wait=-5", "Healing Wait", "-5", "0 or more")]
    [TestCase("In Doubt Timeout=0", "In Doubt Timeout", "0", "seconds, 1 or more")]
    [TestCase("Replay Strict Priority=sometimes", "Replay Strict Priority", "sometimes", "true or false")]
    [TestCase("Drain Watch=http://x", "Drain Watch", "http://x", "nats://host:port")]
    [TestCase("Drain Bucket=a.b", "Drain Bucket", "a.b", "bucket name")]
    public void A_bad_value_names_the_key_the_value_and_what_is_allowed(string setting, string key, string value, string allowed)
    {
        var e = Assert.Throws<ArgumentException>(() => _ = new HelixConnectionStringBuilder(Strands + ";" + setting));
        Assert.Multiple(() =>
        {
            Assert.That(e!.ParamName, Is.EqualTo(key));
            Assert.That(e.Message, Does.Contain($"'{key}'").And.Contain($"'{value}'").And.Contain(allowed));
        });
    }

    [Test]
    public void A_bad_value_set_through_a_property_is_rejected_too() =>
        Assert.That(() => new HelixConnectionStringBuilder { CircuitThreshold = 0 }, Throws.ArgumentException.With.Property("ParamName").EqualTo("Circuit Threshold"));

    [TestCase("Provider=Microsoft.Data.Sqlite;Secondary=\"Data Source=:memory:\"", "Primary")]
    [TestCase("Primary=\"Server=a;Database=x\";Secondary=\"Server=b;Database=x\"", "Provider")]
    [TestCase("Provider=Microsoft.Data.Sqlite;Primary=\"Data Source=:memory:\";Secondary Provider=Npgsql", "Secondary Provider")]
    [TestCase("Provider=Microsoft.Data.Sqlite;Primary=\"Data Source=:memory:\";Preferred Strand=Secondary", "Preferred Strand")]
    [TestCase("Provider=Helix.Data;Primary=\"x=y\";Secondary=\"x=y\"", "Primary Provider")]
    [TestCase(Strands + ";Replay Worker=false", "Replay Worker")]
    [TestCase(Strands + ";Bogus Key=1", "Bogus Key")]
    [TestCase(Strands + ";Replay Backoff=500;Replay Backoff Max=100", "Replay Backoff Max")]
    [TestCase("Provider=Microsoft.Data.Sqlite;Primary=\"Nonsense=1\";Secondary=\"Data Source=:memory:\"", "Primary")]
    [TestCase("Helix=yes;" + Strands, "Helix")]
    public void A_missing_or_inconsistent_setting_is_named(string connectionString, string key)
    {
        var e = Assert.Throws<ArgumentException>(() => HelixDataSource.Create(connectionString).Dispose());
        Assert.That(e!.ParamName, Is.EqualTo(key).IgnoreCase, e.Message);
    }

    // Issue 19, item 10: a blank inner string was refused by the inner provider, naming its own key ("Host").
    [TestCase("Provider=Npgsql;Primary=\"\";Secondary=\"Host=b\"", "Primary")]
    [TestCase("Provider=Npgsql;Primary=\"Host=a\";Secondary=\"  \"", "Secondary")]
    [TestCase("Provider=Npgsql;Primary=;Secondary=\"Host=b\"", "Primary")]
    [TestCase("Provider=Microsoft.Data.Sqlite;Primary=\"Data Source=:memory:\";Secondary=", "Secondary")]
    public void A_blank_strand_string_names_the_Helix_key(string connectionString, string key)
    {
        var e = Assert.Throws<ArgumentException>(() => HelixDataSource.Create(connectionString).Dispose());
        Assert.Multiple(() =>
        {
            Assert.That(e!.ParamName, Is.EqualTo(key), e.Message);
            Assert.That(e.Message, Does.Contain($"'{key}' is empty").And.Contain($"{key}=\"Host="));
        });
    }

    [TestCase("Replay=nats://127.0.0.1:4222", "add a reference to Helix.Data.Nats")]
    [TestCase("Drain Watch=nats://127.0.0.1:4222", "add a reference to Helix.Data.Nats")]
    public void A_feature_not_provided_here_is_refused_at_build_with_what_to_do(string setting, string advice)
    {
        var e = Assert.Throws<NotSupportedException>(() => HelixDataSource.Create(Strands + ";" + setting).Dispose());
        Assert.That(e!.Message, Does.Contain(advice));
    }

    [Test]
    public void Commands_on_a_closed_connection_say_so()
    {
        using var connection = new HelixConnection(Strands);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        Assert.Multiple(() =>
        {
            Assert.That(() => command.ExecuteNonQuery(), Throws.InvalidOperationException.With.Message.EqualTo("ExecuteNonQuery requires an open connection; the connection's current state is Closed."));
            Assert.That(() => command.ExecuteScalar(), Throws.InvalidOperationException.With.Message.Contains("ExecuteScalar requires an open connection"));
            Assert.That(() => command.ExecuteReader(), Throws.InvalidOperationException.With.Message.Contains("ExecuteReader requires an open connection"));
            Assert.That(async () => await command.ExecuteNonQueryAsync(), Throws.InvalidOperationException);
        });
        connection.HelixDataSource!.Dispose();
    }

    [Test]
    public void A_command_without_a_connection_says_so()
    {
        using var command = new HelixCommand("SELECT 1");
        Assert.That(() => command.ExecuteScalar(), Throws.InvalidOperationException.With.Message.Contains("Connection property has not been initialized"));
    }

    [Test]
    public void Opening_without_a_string_or_changing_the_string_of_an_open_connection_says_so()
    {
        using var empty = new HelixConnection();
        Assert.That(() => empty.Open(), Throws.InvalidOperationException.With.Message.Contains("ConnectionString"));
        using var files = new SqliteStrands("open-twice");
        using var dataSource = HelixDataSource.Create(files.ConnectionString());
        using var connection = dataSource.OpenConnection();
        Assert.That(() => connection.ConnectionString = "x=y", Throws.InvalidOperationException.With.Message.Contains("while the connection is open"));
    }

    [Test]
    public void A_disposed_data_source_refuses_new_connections()
    {
        var dataSource = HelixDataSource.Create(Strands);
        dataSource.Dispose();
        Assert.That(() => dataSource.CreateConnection(), Throws.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public void A_second_transaction_on_a_connection_is_refused_and_a_finished_one_cannot_be_used()
    {
        using var files = new SqliteStrands("tx");
        files.ExecuteOnBoth("CREATE TABLE t (v INTEGER)");
        using var dataSource = HelixDataSource.Create(files.ConnectionString());
        using var connection = dataSource.OpenConnection();
        var transaction = connection.BeginTransaction();
        Assert.That(() => connection.BeginTransaction(), Throws.InvalidOperationException.With.Message.Contains("nested transactions are not supported"));
        transaction.Commit();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO t VALUES (1)";
        command.Transaction = transaction;
        Assert.Multiple(() =>
        {
            Assert.That(() => transaction.Commit(), Throws.InvalidOperationException.With.Message.Contains("completed"));
            Assert.That(() => command.ExecuteNonQuery(), Throws.InvalidOperationException.With.Message.Contains("not the active transaction"));
        });
    }

    [Test]
    public void A_command_cannot_be_given_a_foreign_connection()
    {
        using var command = new HelixCommand();
        using var foreign = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:");
        Assert.That(() => ((System.Data.Common.DbCommand)command).Connection = foreign, Throws.ArgumentException.With.Message.Contains("HelixConnection"));
    }

    [TestCase(CommandType.Text)]
    [TestCase(CommandType.StoredProcedure)]
    [TestCase(CommandType.TableDirect)]
    public void A_command_takes_every_command_type_ADO_NET_defines(CommandType type)
    {
        using var command = new HelixCommand { CommandType = type };
        Assert.That(command.CommandType, Is.EqualTo(type));
    }

    [TestCase(0)]
    [TestCase(3)]
    [TestCase(-1)]
    public void A_command_type_ADO_NET_does_not_define_is_refused_and_the_command_keeps_its_own(int value)
    {
        using var command = new HelixCommand { CommandType = CommandType.StoredProcedure };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => command.CommandType = (CommandType)value);
        Assert.Multiple(() =>
        {
            Assert.That(e!.ParamName, Is.EqualTo("value"));
            Assert.That(e.Message, Does.Contain("Unknown command type"));
            Assert.That(command.CommandType, Is.EqualTo(CommandType.StoredProcedure));
        });
    }
}
