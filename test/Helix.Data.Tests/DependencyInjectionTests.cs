using System.Data.Common;
using Dapper;
using Helix.Data.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Tests;

/// <summary>Registration in a service collection, in the style of Npgsql's AddNpgsqlDataSource, and the health check.</summary>
public class DependencyInjectionTests
{
    [Test]
    public async Task The_data_source_and_its_connections_resolve_and_log_through_the_container()
    {
        using var files = new SqliteStrands("di");
        files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        var logs = new CollectingLoggerProvider();
        var clock = Wait.Clock();
        var services = new ServiceCollection()
            .AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug))
            .AddSingleton<TimeProvider>(clock)
            .AddHelixDataSource(files.ConnectionString("Name=orders"), b => b.ConfigureReplay(o => o.MaxAttempts = 7));
        await using var provider = services.BuildServiceProvider();
        var dataSource = provider.GetRequiredService<HelixDataSource>();
        var one = provider.GetRequiredService<HelixConnection>();
        var two = provider.GetRequiredService<HelixConnection>();
        Assert.Multiple(() =>
        {
            Assert.That(provider.GetRequiredService<DbDataSource>(), Is.SameAs(dataSource));
            Assert.That(dataSource.Name, Is.EqualTo("orders"));
            Assert.That(dataSource.TimeProvider, Is.SameAs(clock), "the container's clock");
            Assert.That(dataSource.Configuration.ReplayOptions.MaxAttempts, Is.EqualTo(7), "the configure callback ran");
            Assert.That(one, Is.Not.SameAs(two), "connections are transient");
        });

        await using (var connection = provider.GetRequiredService<DbConnection>())
        {
            await connection.ExecuteAsync("INSERT INTO t (id) VALUES (1)");
        }

        Assert.Multiple(() =>
        {
            Assert.That(files.Rows(HelixStrand.Secondary, "SELECT id FROM t"), Is.EqualTo(new[] { "1" }));
            Assert.That(logs.Entries.Select(e => e.Id.Id), Has.Member(1000), "the data source logged through the container's logger factory");
        });
    }

    [Test]
    public async Task Keyed_registrations_keep_two_data_sources_apart_and_the_provider_disposes_them()
    {
        using var a = new SqliteStrands("di-a");
        using var b = new SqliteStrands("di-b");
        var services = new ServiceCollection()
            .AddHelixDataSource(a.ConnectionString("Name=a"), serviceKey: "a")
            .AddHelixDataSource(b.ConnectionString("Name=b"), (provider, builder) => builder.ConnectionStringBuilder.StickyCooldown = 5, serviceKey: "b");
        HelixDataSource first;
        await using (var provider = services.BuildServiceProvider())
        {
            first = provider.GetRequiredKeyedService<HelixDataSource>("a");
            Assert.Multiple(() =>
            {
                Assert.That(first.Name, Is.EqualTo("a"));
                Assert.That(provider.GetRequiredKeyedService<HelixDataSource>("b").Name, Is.EqualTo("b"));
                Assert.That(provider.GetRequiredKeyedService<DbConnection>("b"), Is.InstanceOf<HelixConnection>());
                Assert.That(provider.GetService<HelixDataSource>(), Is.Null);
            });
        }

        Assert.That(() => first.CreateConnection(), Throws.InstanceOf<ObjectDisposedException>(), "the container disposed its data source");
    }

    [Test]
    public void A_malformed_string_fails_at_registration()
    {
        var e = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddHelixDataSource("Helix;Read Strategy=Sometimes"));
        Assert.That(e!.ParamName, Is.EqualTo("Read Strategy"));
    }

    [Test]
    public async Task The_health_check_is_healthy_degraded_or_failing_with_the_strands()
    {
        await using var strands = new FaultyStrands();
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        var services = new ServiceCollection().AddLogging().AddSingleton(strands.DataSource);
        services.AddHealthChecks().AddHelix(failureStatus: HealthStatus.Unhealthy, tags: ["db"]);
        await using var provider = services.BuildServiceProvider();
        var health = provider.GetRequiredService<HealthCheckService>();

        var report = await health.CheckHealthAsync();
        Assert.Multiple(() =>
        {
            Assert.That(report.Status, Is.EqualTo(HealthStatus.Healthy));
            Assert.That(report.Entries["helix"].Data["secondary.state"], Is.EqualTo("Healthy"));
            Assert.That(report.Entries["helix"].Tags, Has.Member("db"));
        });

        strands.DataSource.Drain(HelixStrand.Secondary, "maintenance");
        report = await health.CheckHealthAsync();
        Assert.Multiple(() =>
        {
            Assert.That(report.Status, Is.EqualTo(HealthStatus.Degraded));
            Assert.That(report.Entries["helix"].Description, Does.Contain("secondary Draining"));
            Assert.That(report.Entries["helix"].Data["secondary.drained"], Is.EqualTo("maintenance"));
        });

        strands.DataSource.Drain(HelixStrand.Primary, "maintenance too");
        report = await health.CheckHealthAsync();
        Assert.Multiple(() =>
        {
            Assert.That(report.Status, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(report.Entries["helix"].Description, Does.StartWith("No strand is healthy"));
        });
    }
}
