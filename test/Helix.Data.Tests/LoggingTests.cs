using Helix.Data.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Tests;

/// <summary>Log events: stable ids, useful text, and never a password.</summary>
public class LoggingTests
{
    [Test]
    public async Task An_outage_is_logged_with_stable_event_ids_and_without_secrets()
    {
        using var provider = new CollectingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Trace));
        await using var strands = new FaultyStrands("Password=topsecret-shared", b => b.UseLoggerFactory(loggerFactory));
        strands.Files.ExecuteOnBoth("CREATE TABLE t (id TEXT PRIMARY KEY)");
        strands.Secondary.FailExecutions(() => new Microsoft.Data.Sqlite.SqliteException("database is locked", 5), text => text.StartsWith("INSERT", StringComparison.Ordinal));
        await using (var connection = await strands.DataSource.OpenConnectionAsync())
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO t VALUES ('a')";
            await command.ExecuteNonQueryAsync();
        }

        strands.Secondary.Heal();
        await Wait.ForReplayAsync(strands.DataSource);
        var entries = provider.Entries.ToList();
        Assert.Multiple(() =>
        {
            Assert.That(entries.Select(e => e.Message), Has.None.Contains("topsecret"));
            Assert.That(entries, Has.Some.Matches<(LogLevel Level, EventId Id, string Message, Exception? Exception)>(
                e => e.Id.Id == 2000 && e.Message.Contains("secondary is now Failed", StringComparison.Ordinal) && e.Message.Contains("database is locked", StringComparison.Ordinal)));
            Assert.That(entries, Has.Some.Matches<(LogLevel Level, EventId Id, string Message, Exception? Exception)>(
                e => e.Id.Id == 2000 && e.Message.Contains("secondary is now Healthy", StringComparison.Ordinal)));
        });
    }

    [Test]
    public void Errors_about_the_connection_string_do_not_print_passwords()
    {
        var e = Assert.Throws<ArgumentException>(() => HelixDataSource.Create(
            "Provider=Microsoft.Data.Sqlite;Primary=\"Data Source=:memory:;Password=inner-secret;Bogus=1\";Secondary=\"Data Source=:memory:\""));
        Assert.That(e!.Message, Does.Not.Contain("inner-secret"));
    }
}
