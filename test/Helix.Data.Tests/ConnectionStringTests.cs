using System.Data.Common;
using Helix.Data.Tests.Support;

namespace Helix.Data.Tests;

/// <summary>Contract section 2: the connection string as the configuration surface.</summary>
public class ConnectionStringTests
{
    [Test]
    public void Parses_every_key_in_spaced_and_compact_form()
    {
        var spaced = new HelixConnectionStringBuilder(
            "Helix;Provider=Npgsql;Primary Provider=A;Secondary Provider=B;Primary=\"Host=a;Database=x\";Secondary='Host=b'"
            + ";Read Strategy=RoundRobin;Preferred Strand=Secondary;Sticky Cooldown=12;Write Strategy=Sequential;Failover=None"
            + ";Circuit Threshold=4;Circuit Reset=5;Latency Cap=600;Replay=None;Replay Capacity=7;Replay Worker=false;Replay Full=Drop;Strand Names=east,west;Replay Memory Limit=64 MB;Stale Reads=Allow;Nondeterministic Writes=Refuse"
            + ";Name=orders;Failback=Manual;Write Order=SecondaryFirst;Adaptive Delta=250;Adaptive Strikes=4;Adaptive Cap=1500;Adaptive Floor=50;Adaptive Recovery=6"
            + ";Replay Batch Size=50;Replay Max Attempts=9;Replay Backoff=20;Replay Backoff Max=900;Replay Poll Interval=300;Healing Wait=700;In Doubt Timeout=60"
            + ";Probe Command=SELECT 2;Replay Priority Ratio=4;Replay Strict Priority=true;Drain Watch=nats://127.0.0.1:4222;Drain Bucket=fleet-drain");
        var compact = new HelixConnectionStringBuilder(
            "Provider=Npgsql;PrimaryProvider=A;SecondaryProvider=B;Primary=\"Host=a;Database=x\";Secondary='Host=b'"
            + ";ReadStrategy=round-robin;PreferredStrand=secondary;StickyCooldown=12;WriteStrategy=SEQUENTIAL;failover=none"
            + ";CircuitThreshold=4;CircuitReset=5;LatencyCap=600;replay=none;ReplayCapacity=7;ReplayWorker=no;ReplayFull=drop;StrandNames=east, west;ReplayMemoryLimit=64mb;staleReads=allow;nondeterministicwrites=refuse"
            + ";name=orders;failback=manual;WriteOrder=secondary-first;AdaptiveDelta=250;AdaptiveStrikes=4;AdaptiveCap=1500;AdaptiveFloor=50;AdaptiveRecovery=6"
            + ";ReplayBatchSize=50;ReplayMaxAttempts=9;ReplayBackoff=20;ReplayBackoffMax=900;ReplayPollInterval=300;HealingWait=700;InDoubtTimeout=60"
            + ";ProbeCommand=SELECT 2;ReplayPriorityRatio=4;ReplayStrictPriority=yes;DrainWatch=nats://127.0.0.1:4222;DrainBucket=fleet-drain");
        foreach (var b in new[] { spaced, compact })
        {
            Assert.Multiple(() =>
            {
                Assert.That(b.Provider, Is.EqualTo("Npgsql"));
                Assert.That(b.PrimaryProvider, Is.EqualTo("A"));
                Assert.That(b.SecondaryProvider, Is.EqualTo("B"));
                Assert.That(b.Primary, Is.EqualTo("Host=a;Database=x"));
                Assert.That(b.Secondary, Is.EqualTo("Host=b"));
                Assert.That(b.ReadStrategy, Is.EqualTo(HelixReadStrategy.RoundRobin));
                Assert.That(b.PreferredStrand, Is.EqualTo(HelixStrand.Secondary));
                Assert.That(b.StickyCooldown, Is.EqualTo(12));
                Assert.That(b.WriteStrategy, Is.EqualTo(HelixWriteStrategy.Sequential));
                Assert.That(b.Failover, Is.EqualTo(HelixFailover.None));
                Assert.That(b.CircuitThreshold, Is.EqualTo(4));
                Assert.That(b.CircuitReset, Is.EqualTo(5));
                Assert.That(b.LatencyCap, Is.EqualTo(600));
                Assert.That(b.Replay, Is.EqualTo("None"));
                Assert.That(b.ReplayCapacity, Is.EqualTo(7));
                Assert.That(b.ReplayWorker, Is.False);
                Assert.That(b.ReplayFull, Is.EqualTo(HelixReplayFullPolicy.Drop));
                Assert.That((b.ReplayMemoryLimit, b.ReplayMemoryLimitBytes), Is.EqualTo(("64MB", 64L << 20)));
                Assert.That(b.StaleReads, Is.EqualTo(HelixStaleReads.Allow));
                Assert.That(b.NondeterministicWrites, Is.EqualTo(HelixNondeterministicWrites.Refuse));
                Assert.That(b.StrandNames, Is.EqualTo("east,west"));
                Assert.That(b.Name, Is.EqualTo("orders"));
                Assert.That(b.Failback, Is.EqualTo(HelixFailback.Manual));
                Assert.That(b.WriteOrder, Is.EqualTo(Helix.Data.Strategies.HelixWriteOrder.SecondaryFirst));
                Assert.That((b.AdaptiveDelta, b.AdaptiveStrikes, b.AdaptiveCap, b.AdaptiveFloor, b.AdaptiveRecovery), Is.EqualTo((250, 4, 1500, 50, 6)));
                Assert.That((b.ReplayBatchSize, b.ReplayMaxAttempts, b.ReplayBackoff, b.ReplayBackoffMax, b.ReplayPollInterval), Is.EqualTo((50, 9, 20, 900, 300)));
                Assert.That((b.HealingWait, b.InDoubtTimeout, b.ProbeCommand), Is.EqualTo((700, 60, "SELECT 2")));
                Assert.That((b.ReplayPriorityRatio, b.ReplayStrictPriority), Is.EqualTo((4, true)));
                Assert.That((b.DrainWatch, b.DrainBucket), Is.EqualTo(("nats://127.0.0.1:4222", "fleet-drain")));
            });
        }
    }

    [Test]
    public void The_string_configures_the_strategies_and_the_replay_worker()
    {
        using var files = new SqliteStrands("configured");
        using var sticky = HelixDataSource.Create(files.ConnectionString("Preferred Strand=Secondary;Sticky Cooldown=42;Failover=LatencyCircuitBreaker;Latency Cap=150;Circuit Threshold=5;Circuit Reset=9;Write Strategy=Adaptive;Adaptive Delta=250;Adaptive Strikes=4;Adaptive Cap=1500;Adaptive Floor=50;Adaptive Recovery=6"));
        var read = (Helix.Data.Strategies.StickyReadStrategy)sticky.ReadStrategy!;
        var failover = (Helix.Data.Strategies.LatencyCircuitBreakerFailover)sticky.FailoverPolicy!;
        var adaptive = ((Helix.Data.Strategies.AdaptiveWriteStrategy)sticky.WriteStrategy!).Options;
        Assert.Multiple(() =>
        {
            Assert.That((read.Current, read.Cooldown), Is.EqualTo((HelixStrand.Secondary, TimeSpan.FromSeconds(42))));
            Assert.That((failover.LatencyCap, failover.Threshold, failover.ResetTimeout), Is.EqualTo(((TimeSpan?)TimeSpan.FromMilliseconds(150), 5, TimeSpan.FromSeconds(9))));
            Assert.That((adaptive.Delta, adaptive.Strikes, adaptive.Cap, adaptive.Floor, adaptive.Recovery), Is.EqualTo((TimeSpan.FromMilliseconds(250), 4, TimeSpan.FromMilliseconds(1500), TimeSpan.FromMilliseconds(50), 6)));
            Assert.That(sticky.Name, Is.EqualTo("helix"));
        });

        using var primaryOnly = new HelixDataSourceBuilder(files.ConnectionString("Name=orders;Read Strategy=PrimaryOnly;Failback=Manual;Write Strategy=Sequential;Write Order=SecondaryFirst;Failover=CircuitBreaker;Replay Batch Size=50;Replay Max Attempts=9;Replay Backoff=20;Replay Backoff Max=900;Replay Poll Interval=300;Healing Wait=700;In Doubt Timeout=60;Probe Command=SELECT 2"))
            .ConfigureReplay(o => o.MaxAttempts = 11)
            .Build();
        var options = primaryOnly.Configuration.ReplayOptions;
        Assert.Multiple(() =>
        {
            Assert.That(primaryOnly.Name, Is.EqualTo("orders"));
            Assert.That(((Helix.Data.Strategies.PrimaryOnlyReadStrategy)primaryOnly.ReadStrategy!).AutomaticFailback, Is.False);
            Assert.That(((Helix.Data.Strategies.SequentialWriteStrategy)primaryOnly.WriteStrategy!).First, Is.EqualTo(HelixStrand.Secondary));
            Assert.That(primaryOnly.FailoverPolicy, Is.TypeOf<Helix.Data.Strategies.CircuitBreakerFailover>());
            Assert.That((options.BatchSize, options.MaxAttempts, options.BackoffInitial, options.BackoffMax), Is.EqualTo((50, 11, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(900))), "ConfigureReplay runs after the string");
            Assert.That((options.PollInterval, options.HealingWait, options.InDoubtTimeout, options.ProbeCommandText), Is.EqualTo((TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(700), TimeSpan.FromSeconds(60), "SELECT 2")));
        });
    }

    [Test]
    public void Defaults_match_the_contract()
    {
        var b = new HelixConnectionStringBuilder("Provider=Npgsql;Primary=\"Host=a\"");
        Assert.Multiple(() =>
        {
            Assert.That(b.ReadStrategy, Is.EqualTo(HelixReadStrategy.Sticky));
            Assert.That(b.PreferredStrand, Is.Null);
            Assert.That(b.StickyCooldown, Is.EqualTo(300));
            Assert.That(b.WriteStrategy, Is.EqualTo(HelixWriteStrategy.Concurrent));
            Assert.That(b.Failover, Is.EqualTo(HelixFailover.Active));
            Assert.That(b.CircuitThreshold, Is.EqualTo(3));
            Assert.That(b.CircuitReset, Is.EqualTo(30));
            Assert.That(b.LatencyCap, Is.EqualTo(2000));
            Assert.That(b.Replay, Is.EqualTo("Memory"));
            Assert.That(b.ReplayCapacity, Is.Null, "no count limit: the memory limit bounds the memory queue (issue 19)");
            Assert.That(b.ReplayMemoryLimit, Is.EqualTo("256MB"));
            Assert.That(b.ReplayMemoryLimitBytes, Is.EqualTo(256L * 1024 * 1024));
            Assert.That(b.ReplayWorker, Is.True);
            Assert.That(b.ReplayFull, Is.EqualTo(HelixReplayFullPolicy.Resync), "staying up while one strand is down (issue 19)");
            Assert.That(b.StaleReads, Is.EqualTo(HelixStaleReads.Never));
            Assert.That(b.NondeterministicWrites, Is.EqualTo(HelixNondeterministicWrites.Warn), "a write calling now() runs, and is logged once");
            Assert.That(b.StrandNames, Is.EqualTo("primary,secondary"));
            Assert.That(b.Name, Is.EqualTo("helix"));
            Assert.That(b.Failback, Is.EqualTo(HelixFailback.Automatic));
            Assert.That(b.WriteOrder, Is.EqualTo(Helix.Data.Strategies.HelixWriteOrder.PrimaryFirst));
            Assert.That((b.AdaptiveDelta, b.AdaptiveStrikes, b.AdaptiveCap, b.AdaptiveFloor, b.AdaptiveRecovery), Is.EqualTo((300, 3, 2000, 100, 5)));
            Assert.That((b.ReplayBatchSize, b.ReplayMaxAttempts, b.ReplayBackoff, b.ReplayBackoffMax, b.ReplayPollInterval), Is.EqualTo((100, 5, 100, 10000, 1000)));
            Assert.That((b.HealingWait, b.InDoubtTimeout, b.ProbeCommand), Is.EqualTo((1000, 120, (string?)null)));
            Assert.That((b.ReplayPriorityRatio, b.ReplayStrictPriority, b.DrainWatch, b.DrainBucket), Is.EqualTo((10, false, (string?)null, "helix-drain")));
        });
    }

    [TestCase("Helix;Provider=X;Primary=\"a=b\"")]
    [TestCase("helix ; Provider=X;Primary=\"a=b\"")]
    [TestCase("Provider=X;Primary=\"a=b\"")]
    public void Accepts_and_ignores_the_leading_Helix_token(string text)
    {
        var b = new HelixConnectionStringBuilder(text);
        Assert.Multiple(() =>
        {
            Assert.That(b.Provider, Is.EqualTo("X"));
            Assert.That(b.ConnectionString, Does.Not.Contain("elix"));
        });
    }

    [Test]
    public void Round_trips_quoted_inner_strings_and_keeps_shared_keys()
    {
        var b = new HelixConnectionStringBuilder { Provider = "Npgsql", Primary = "Host=a;Password=x\"y", Secondary = "Data Source=c.db;Mode=Memory" };
        b["Username"] = "app";
        var again = new HelixConnectionStringBuilder(b.ConnectionString);
        Assert.Multiple(() =>
        {
            Assert.That(again.Primary, Is.EqualTo("Host=a;Password=x\"y"));
            Assert.That(again.Secondary, Is.EqualTo("Data Source=c.db;Mode=Memory"));
            Assert.That(again["Username"], Is.EqualTo("app"));
            Assert.That(again.PassThroughEntries().Select(e => e.Key), Is.EqualTo(new[] { "Username" }).IgnoreCase);
        });
    }

    [Test]
    public void ToString_masks_passwords_also_inside_inner_strings()
    {
        var b = new HelixConnectionStringBuilder("Provider=Npgsql;Primary=\"Host=a;Password=inner-secret\";Secondary=\"Host=b;Pwd=other-secret\";Password=shared-secret");
        var text = b.ToString();
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Not.Contain("secret"));
            Assert.That(text, Does.Contain("Host=a").IgnoreCase);
            Assert.That(text, Does.Contain("***"));
        });
    }

    // Issue 19, item 6: the user-info of a URL-valued key was printed as given.
    [TestCase("Replay=nats://helix:s3cr3t-pass@nats.internal:4222", "nats://helix:***@nats.internal:4222")]
    [TestCase("Replay=\"tls://helix:s3cr3t-pass@nats.internal:4222?stream=orders&max-age=60\"", "tls://helix:***@nats.internal:4222?stream=orders&max-age=60")]
    [TestCase("Replay=nats://s3cr3t-token@nats.internal:4222", "nats://***@nats.internal:4222")]
    [TestCase("Drain Watch=nats://ops:s3cr3t-pass@nats.internal:4222", "nats://ops:***@nats.internal:4222")]
    [TestCase("Replay=\"nats://nats.internal:4222?stream=x&token=s3cr3t-token\"", "nats://nats.internal:4222?stream=x&token=***")]
    public void ToString_masks_the_credentials_of_URL_values(string setting, string shown)
    {
        var b = new HelixConnectionStringBuilder("Provider=Npgsql;Primary=\"Host=a\";Secondary=\"Host=b\";" + setting);
        var text = b.ToString();
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Not.Contain("s3cr3t"));
            Assert.That(text, Does.Contain(shown));
            Assert.That(b.ConnectionString, Does.Contain("s3cr3t"), "the builder's own string keeps what it was given");
        });
    }

    [Test]
    public void A_queue_error_that_quotes_its_URL_is_logged_without_the_password()
    {
        Exception thrown;
        try
        {
            throw new InvalidOperationException("can not connect uris: nats://helix:s3cr3t-pass@10.0.0.7:4222");
        }
        catch (InvalidOperationException e)
        {
            thrown = e;
        }

        var logged = Helix.Data.Internal.Redactor.SafeToLog(thrown);
        var plain = new InvalidOperationException("no URL here");
        Assert.Multiple(() =>
        {
            Assert.That(logged.Message, Is.EqualTo("can not connect uris: nats://helix:***@10.0.0.7:4222"));
            Assert.That(logged.ToString(), Does.Not.Contain("s3cr3t").And.Contain(nameof(A_queue_error_that_quotes_its_URL_is_logged_without_the_password)), "the stack trace is kept");
            Assert.That(Helix.Data.Internal.Redactor.SafeToLog(plain), Is.SameAs(plain));
        });
    }

    [Test]
    public void Shared_keys_reach_both_strands_unless_a_strand_sets_them_itself()
    {
        using var files = new SqliteStrands("shared-keys");
        var cs = $"Provider=Microsoft.Data.Sqlite;Primary=\"Data Source={files.PrimaryPath}\";Secondary=\"Data Source={files.SecondaryPath};Mode=ReadOnly\";Mode=ReadWriteCreate;Default Timeout=7";
        using var dataSource = HelixDataSource.Create(cs);
        var primary = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(dataSource.Strands[0].DataSource.ConnectionString);
        var secondary = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(dataSource.Strands[1].DataSource.ConnectionString);
        Assert.Multiple(() =>
        {
            Assert.That(primary.Mode, Is.EqualTo(Microsoft.Data.Sqlite.SqliteOpenMode.ReadWriteCreate));
            Assert.That(primary.DefaultTimeout, Is.EqualTo(7));
            Assert.That(secondary.Mode, Is.EqualTo(Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly), "the strand's own setting wins");
            Assert.That(secondary.DefaultTimeout, Is.EqualTo(7));
        });
    }

    [Test]
    public void A_shared_key_given_as_a_synonym_does_not_override_the_strand_setting()
    {
        using var files = new SqliteStrands("synonyms");
        // "Filename" is SQLite's synonym of "Data Source": the strands keep their own files.
        var cs = $"Provider=Microsoft.Data.Sqlite;Primary=\"Data Source={files.PrimaryPath}\";Secondary=\"Data Source={files.SecondaryPath}\";Filename=/nonexistent/elsewhere.db";
        using var dataSource = HelixDataSource.Create(cs);
        Assert.That(dataSource.Strands[1].DataSource.ConnectionString, Does.Contain(files.SecondaryPath).And.Not.Contain("elsewhere"));
    }

    [Test]
    public void Connections_with_the_same_string_share_one_data_source()
    {
        using var files = new SqliteStrands("sharing");
        var cs = files.ConnectionString();
        using var a = new HelixConnection(cs);
        using var b = new HelixConnection(cs);
        using var c = new HelixConnection(files.ConnectionString("Read Strategy=PrimaryOnly"));
        using var again = new HelixConnection(new string(cs.AsSpan())); // the same text in another string, after another string
        Assert.Multiple(() =>
        {
            Assert.That(a.HelixDataSource, Is.Not.Null);
            Assert.That(b.HelixDataSource, Is.SameAs(a.HelixDataSource));
            Assert.That(c.HelixDataSource, Is.Not.SameAs(a.HelixDataSource));
            Assert.That(again.HelixDataSource, Is.SameAs(a.HelixDataSource));
        });
        a.HelixDataSource!.Dispose();
        c.HelixDataSource!.Dispose();
        using var d = new HelixConnection(cs);
        Assert.That(d.HelixDataSource, Is.Not.SameAs(a.HelixDataSource), "a disposed data source is no longer shared");
        d.HelixDataSource!.Dispose();
    }

    [Test]
    public void The_data_source_reports_its_connection_string_without_secrets()
    {
        using var files = new SqliteStrands("secrets");
        using var dataSource = HelixDataSource.Create(files.ConnectionString("Password=hunter2"));
        Assert.That(dataSource.ConnectionString, Does.Not.Contain("hunter2"));
    }

    [Test]
    public void Persist_Security_Info_is_Helixs_own_key_and_is_not_passed_to_the_strands()
    {
        var b = new HelixConnectionStringBuilder("Helix;Provider=Npgsql;Primary=\"Host=a\";PersistSecurityInfo=yes;Username=app");
        Assert.Multiple(() =>
        {
            Assert.That(b.PersistSecurityInfo, Is.True);
            Assert.That(new HelixConnectionStringBuilder().PersistSecurityInfo, Is.False, "the default, as the providers'");
            Assert.That(b.PassThroughEntries().Select(e => e.Key), Is.EqualTo(new[] { "Username" }).IgnoreCase);
        });
        var error = Assert.Throws<ArgumentException>(() => _ = new HelixConnectionStringBuilder("Persist Security Info=sometimes"));
        Assert.That(error!.Message, Does.Contain("Persist Security Info").And.Contain("sometimes").And.Contain("true or false"));
    }

    [TestCase("Provider=Npgsql;Primary=\"Host=a;Password=p\"", true)]
    [TestCase("Provider=Npgsql;Primary=\"Host=a\";Pwd=p", true)]
    [TestCase("Provider=Npgsql;Primary=\"Host=a\";Replay=nats://u:p@nats:4222", true)]
    [TestCase("Provider=Npgsql;Primary=\"Host=a;Password=\"", false)]
    [TestCase("Provider=Npgsql;Primary=\"Host=a;Username=app\";Replay=nats://nats:4222", false)]
    [TestCase("Primary=\"unbalanced", true)]
    public void A_string_has_secrets_when_it_names_a_password_or_a_URLs_credentials(string text, bool expected) =>
        Assert.That(Internal.Redactor.HasSecrets(text), Is.EqualTo(expected));

    [Test]
    public void An_opened_connection_whose_string_has_no_secrets_returns_it_as_set_and_stays_on_the_shared_data_source()
    {
        using var files = new SqliteStrands("no-secrets");
        var text = files.ConnectionString();
        using var connection = new HelixConnection(text);
        connection.Open();
        connection.Close();
        using var again = new HelixConnection(connection.ConnectionString);
        Assert.Multiple(() =>
        {
            Assert.That(connection.ConnectionString, Is.EqualTo(text));
            Assert.That(again.HelixDataSource, Is.SameAs(connection.HelixDataSource));
        });
    }

    [Test]
    public void Works_through_DbProviderFactories()
    {
        DbProviderFactories.RegisterFactory(HelixProviderFactory.InvariantName, HelixProviderFactory.Instance);
        var factory = DbProviderFactories.GetFactory("Helix.Data");
        Assert.Multiple(() =>
        {
            Assert.That(factory, Is.SameAs(HelixProviderFactory.Instance));
            Assert.That(factory.CreateConnection(), Is.InstanceOf<HelixConnection>());
            Assert.That(factory.CreateCommand(), Is.InstanceOf<HelixCommand>());
            Assert.That(factory.CreateParameter(), Is.InstanceOf<HelixParameter>());
            Assert.That(factory.CreateConnectionStringBuilder(), Is.InstanceOf<HelixConnectionStringBuilder>());
        });
        using var files = new SqliteStrands("factory");
        using var dataSource = factory.CreateDataSource(files.ConnectionString());
        Assert.That(dataSource, Is.InstanceOf<HelixDataSource>());
        using var connection = dataSource.CreateConnection();
        Assert.That(DbProviderFactories.GetFactory(connection), Is.SameAs(HelixProviderFactory.Instance));
    }
}
