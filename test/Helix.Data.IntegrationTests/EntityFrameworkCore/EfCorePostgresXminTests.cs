using System.ComponentModel.DataAnnotations;
using Helix.Data.IntegrationTests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace Helix.Data.IntegrationTests.EntityFrameworkCore;

/// <summary>
/// PostgreSQL's <c>xmin</c> as EF Core's concurrency token through Helix (contract amendment 29): each server bumps its
/// own, so tokens are read from and checked on one strand, the first healthy one, and the other strand takes the write
/// without the check, in the same transaction.
/// </summary>
public class EfCorePostgresXminTests : PostgresTestBase
{
    private const string NotesDump = "SELECT \"Id\", \"Text\" FROM \"Notes\" ORDER BY \"Text\"";

    [TestCase(false)]
    [TestCase(true)]
    public async Task Writes_checked_by_xmin_land_on_both_servers_with_no_false_conflict_while_reads_prefer_the_secondary(bool sync)
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Preferred Strand=Secondary"));
        await CreateAsync(dataSource);
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        await using (var context = Notes(dataSource))
        {
            context.Notes.AddRange(new Note { Id = a, Text = "a1" }, new Note { Id = b, Text = "b1" });
            await SaveAsync(context, sync);
            Assert.That(context.Notes.Local.Single(n => n.Id == a).Version, Is.EqualTo(await XminAsync(HelixStrand.Primary, a)), "the token an INSERT returns is the primary's");
        }

        // A new context for each step, as a web application's requests: each reads the token, then writes with it.
        for (var round = 2; round <= 4; round++)
        {
            await using var context = Notes(dataSource);
            var note = sync ? context.Notes.Single(n => n.Id == a) : await context.Notes.SingleAsync(n => n.Id == a);
            Assert.That(note.Version, Is.EqualTo(await XminAsync(HelixStrand.Primary, a)), "a query's token is the primary's, though reads prefer the secondary");
            note.Text = $"a{round}";
            await SaveAsync(context, sync);
            Assert.That(note.Version, Is.EqualTo(await XminAsync(HelixStrand.Primary, a)), "the token an UPDATE returns is the primary's");
        }

        await using (var context = Notes(dataSource))
        {
            context.Notes.Remove(await context.Notes.SingleAsync(n => n.Id == b));
            await SaveAsync(context, sync);
        }

        var primary = await RowsAsync(HelixStrand.Primary, NotesDump);
        Assert.Multiple(async () =>
        {
            Assert.That(primary, Is.EqualTo(new[] { $"{a}|a4" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, NotesDump), Is.EqualTo(primary));
            Assert.That(await XminAsync(HelixStrand.Secondary, a), Is.Not.EqualTo(await XminAsync(HelixStrand.Primary, a)), "the servers' tokens differ: the secondary's was never checked against the primary's");
            Assert.That(dataSource.GetStatus().Strands.Select(s => s.State), Is.All.EqualTo(HelixStrandState.Healthy), "no divergence, nothing queued");
        });
    }

    [Test]
    public async Task In_a_transaction_that_reads_first_the_token_comes_from_the_strand_that_checks_it()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Preferred Strand=Secondary"));
        var id = await CreateWithNoteAsync(dataSource, "before");

        await using (var context = Notes(dataSource))
        {
            await using var transaction = await context.Database.BeginTransactionAsync();
            var note = await context.Notes.SingleAsync(n => n.Id == id); // the transaction's first statement
            Assert.That(note.Version, Is.EqualTo(await XminAsync(HelixStrand.Primary, id)));
            note.Text = "in the transaction";
            await context.SaveChangesAsync();
            await transaction.CommitAsync();
        }

        Assert.That(await RowsAsync(HelixStrand.Secondary, NotesDump), Is.EqualTo(await RowsAsync(HelixStrand.Primary, NotesDump)).And.EqualTo(new[] { $"{id}|in the transaction" }));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_real_conflict_is_a_DbUpdateConcurrencyException_and_both_servers_keep_the_write_that_won(bool sync)
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        var id = await CreateWithNoteAsync(dataSource, "first", sync);

        await using var winner = Notes(dataSource);
        await using var loser = Notes(dataSource);
        var won = await winner.Notes.SingleAsync(n => n.Id == id);
        var lost = await loser.Notes.SingleAsync(n => n.Id == id);
        won.Text = "winner";
        await SaveAsync(winner, sync);
        lost.Text = "loser";
        Assert.That(() => SaveAsync(loser, sync), Throws.InstanceOf<DbUpdateConcurrencyException>());

        loser.Remove(lost);
        Assert.That(() => SaveAsync(loser, sync), Throws.InstanceOf<DbUpdateConcurrencyException>(), "a DELETE with a stale token too");

        var primary = await RowsAsync(HelixStrand.Primary, NotesDump);
        Assert.Multiple(async () =>
        {
            Assert.That(primary, Is.EqualTo(new[] { $"{id}|winner" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, NotesDump), Is.EqualTo(primary), "the secondary took neither the UPDATE nor the DELETE the primary's check refused");
        });

        // What EF Core's documentation says to do next works as without Helix: reload, change again, save.
        await loser.Entry(lost).ReloadAsync();
        lost.Text = "loser, after reloading";
        await SaveAsync(loser, sync);
        Assert.That(await RowsAsync(HelixStrand.Secondary, NotesDump), Is.EqualTo(await RowsAsync(HelixStrand.Primary, NotesDump)).And.EqualTo(new[] { $"{id}|loser, after reloading" }));
    }

    [Test]
    public async Task One_stale_token_among_a_batch_of_checked_writes_fails_the_whole_SaveChanges_on_both_servers()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        await CreateAsync(dataSource);
        var ids = new[] { Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid() };
        await using (var context = Notes(dataSource))
        {
            context.Notes.AddRange(ids.Select((id, i) => new Note { Id = id, Text = $"n{i}" }));
            await context.SaveChangesAsync();
        }

        var commands = new List<string>();
        await using var batch = Notes(dataSource, log: commands);
        var notes = await batch.Notes.OrderBy(n => n.Text).ToListAsync();
        await using (var other = Notes(dataSource))
        {
            (await other.Notes.SingleAsync(n => n.Id == ids[1])).Text = "changed elsewhere";
            await other.SaveChangesAsync();
        }

        notes.ForEach(n => n.Text += ", batched");
        commands.Clear();
        Assert.That(() => batch.SaveChangesAsync(), Throws.InstanceOf<DbUpdateConcurrencyException>());
        Assert.That(commands.Count(c => c.Contains("UPDATE", StringComparison.Ordinal)), Is.EqualTo(1), "EF sent the three UPDATEs as one command");
        Assert.That(commands.Single(c => c.Contains("UPDATE", StringComparison.Ordinal)).Split("AND xmin = @").Length - 1, Is.EqualTo(3));

        var primary = await RowsAsync(HelixStrand.Primary, NotesDump);
        Assert.Multiple(async () =>
        {
            Assert.That(primary.Select(r => r.Split('|')[1]), Is.EqualTo(new[] { "changed elsewhere", "n0", "n2" }), "none of the three: SaveChanges is one transaction");
            Assert.That(await RowsAsync(HelixStrand.Secondary, NotesDump), Is.EqualTo(primary));
        });
    }

    [Test]
    public async Task In_a_TransactionScope_checked_writes_commit_on_both_servers_and_a_conflict_leaves_neither_changed()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Preferred Strand=Secondary"));
        var id = await CreateWithNoteAsync(dataSource, "first");

        using (var scope = new System.Transactions.TransactionScope(System.Transactions.TransactionScopeAsyncFlowOption.Enabled))
        {
            await using var context = Notes(dataSource);
            (await context.Notes.SingleAsync(n => n.Id == id)).Text = "in the scope";
            await context.SaveChangesAsync();
            scope.Complete();
        }

        await using var stale = Notes(dataSource);
        var held = await stale.Notes.SingleAsync(n => n.Id == id);
        await using (var context = Notes(dataSource))
        {
            (await context.Notes.SingleAsync(n => n.Id == id)).Text = "winner";
            await context.SaveChangesAsync();
        }

        using (new System.Transactions.TransactionScope(System.Transactions.TransactionScopeAsyncFlowOption.Enabled))
        {
            held.Text = "loser";
            Assert.That(() => stale.SaveChangesAsync(), Throws.InstanceOf<DbUpdateConcurrencyException>());
        }

        var primary = await RowsAsync(HelixStrand.Primary, NotesDump);
        Assert.Multiple(async () =>
        {
            Assert.That(primary, Is.EqualTo(new[] { $"{id}|winner" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, NotesDump), Is.EqualTo(primary));
        });
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task A_conflict_in_a_user_transaction_goes_on_after_EFs_savepoint_and_cannot_commit_without_one(bool autoSavepoints)
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        var id = await CreateWithNoteAsync(dataSource, "first");

        await using var loser = Notes(dataSource);
        loser.Database.AutoSavepointsEnabled = autoSavepoints;
        await using var transaction = await loser.Database.BeginTransactionAsync();
        var lost = await loser.Notes.SingleAsync(n => n.Id == id);
        await using (var winner = Notes(dataSource))
        {
            (await winner.Notes.SingleAsync(n => n.Id == id)).Text = "winner";
            await winner.SaveChangesAsync();
        }

        lost.Text = "loser";
        Assert.That(() => loser.SaveChangesAsync(), Throws.InstanceOf<DbUpdateConcurrencyException>(), "checked on the primary; the secondary took the UPDATE unchecked, in the transaction");
        if (autoSavepoints)
        {
            // EF rolled back to its savepoint on both strands: the transaction goes on as with plain EF Core.
            await loser.Entry(lost).ReloadAsync();
            lost.Text = "loser, after reloading";
            await loser.SaveChangesAsync();
            await transaction.CommitAsync();
        }
        else
        {
            Assert.That(() => transaction.CommitAsync(), Throws.InstanceOf<HelixException>().With.Message.Contains("cannot commit"), "the secondary's unchecked UPDATE is still in the transaction");
            await transaction.RollbackAsync();
        }

        var expected = autoSavepoints ? "loser, after reloading" : "winner";
        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, NotesDump), Is.EqualTo(new[] { $"{id}|{expected}" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, NotesDump), Is.EqualTo(new[] { $"{id}|{expected}" }));
        });
    }

    [Test]
    public async Task Concurrent_increments_retried_on_conflict_lose_none_and_the_servers_agree()
    {
        const int workers = 4, increments = 15;
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Preferred Strand=Secondary"));
        var id = await CreateWithNoteAsync(dataSource, "0");

        var conflicts = 0;
        async Task IncrementAsync()
        {
            for (var i = 0; i < increments; i++)
            {
                await using var context = Notes(dataSource);
                var note = await context.Notes.SingleAsync(n => n.Id == id);
                while (true)
                {
                    note.Text = (int.Parse(note.Text, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    try
                    {
                        await context.SaveChangesAsync();
                        break;
                    }
                    catch (DbUpdateConcurrencyException)
                    {
                        Interlocked.Increment(ref conflicts);
                        await context.Entry(note).ReloadAsync(); // EF's way: take the current row, apply the change again
                    }
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(IncrementAsync)));

        var primary = await RowsAsync(HelixStrand.Primary, NotesDump);
        Assert.Multiple(async () =>
        {
            Assert.That(primary, Is.EqualTo(new[] { $"{id}|{workers * increments}" }), $"no increment lost ({conflicts} conflicts retried)");
            Assert.That(await RowsAsync(HelixStrand.Secondary, NotesDump), Is.EqualTo(primary), "the secondary applied the increments in the order the primary's checks passed them");
            Assert.That(conflicts, Is.GreaterThan(0), "the workers did conflict");
        });
    }

    [Test]
    public async Task With_the_primary_down_tokens_are_read_and_checked_on_the_secondary_and_the_primary_gets_the_writes_by_replay()
    {
        PostgresServers.RequireFaultControl();
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: ";Timeout=2;Command Timeout=5"));
        var id = await CreateWithNoteAsync(dataSource, "before");

        await using var heldAcross = Notes(dataSource, retry: true);
        var held = await heldAcross.Notes.SingleAsync(n => n.Id == id); // the primary's token, held while the primary goes down

        await PostgresServers.Primary.KillAsync();
        held.Text = "with a token read before the primary went down";
        Assert.That(
            () => heldAcross.SaveChangesAsync(),
            Throws.InstanceOf<DbUpdateConcurrencyException>(),
            "the primary lost in the statement, EF's strategy retried on the secondary; the row has not changed, but a token held across the change of checking strand is the other server's: EF's usual answer follows");
        await heldAcross.Entry(held).ReloadAsync();
        Assert.That(held.Version, Is.EqualTo(await XminAsync(HelixStrand.Secondary, id)), "reloaded from the secondary, the strand that now checks tokens");
        held.Text = "while the primary is down";
        await heldAcross.SaveChangesAsync();

        await using (var context = Notes(dataSource))
        {
            var note = await context.Notes.SingleAsync(n => n.Id == id);
            note.Text = "again while the primary is down";
            await context.SaveChangesAsync();
        }

        await PostgresServers.Primary.StartAsync();
        await WaitForReplayAsync(dataSource);
        var secondary = await RowsAsync(HelixStrand.Secondary, NotesDump);
        Assert.That(await RowsAsync(HelixStrand.Primary, NotesDump), Is.EqualTo(secondary).And.EqualTo(new[] { $"{id}|again while the primary is down" }), "the UPDATEs replayed to the primary without the secondary's token");
    }

    [Test]
    public async Task A_primary_lost_at_the_checked_statement_fails_the_SaveChanges_and_the_secondary_keeps_nothing_of_it()
    {
        PostgresServers.RequireFaultControl();
        var id = Guid.NewGuid();
        await using var dataSource = HelixDataSource.Create(HelixConnectionString("Strand Retry=0", inner: ";Timeout=2;Command Timeout=5"));
        await CreateAsync(dataSource);
        await using (var context = Notes(dataSource))
        {
            context.Notes.AddRange(new Note { Id = id, Text = "checked" }, new Note { Id = Guid.NewGuid(), Text = "other" });
            await context.SaveChangesAsync();
        }

        var kill = new KillBeforeCommand("xmin = @", PostgresServers.Primary);
        await using (var context = Notes(dataSource, kill))
        {
            var note = await context.Notes.SingleAsync(n => n.Id == id);
            await using var transaction = await context.Database.BeginTransactionAsync();
            await context.Database.ExecuteSqlAsync($"UPDATE \"Notes\" SET \"Text\" = 'other, changed' WHERE \"Text\" = 'other'"); // both strands in the transaction
            note.Text = "changed";
            // As plain EF Core says of a server lost in SaveChanges: its strategy without retries calls it likely transient.
            var error = Assert.ThrowsAsync<InvalidOperationException>(() => context.SaveChangesAsync());
            Assert.That(kill.Killed, Is.True);
            Assert.That(error!.InnerException, Is.InstanceOf<DbUpdateException>());
            Assert.That(error.InnerException!.InnerException, Is.InstanceOf<Npgsql.NpgsqlException>().With.Property(nameof(Npgsql.NpgsqlException.IsTransient)).True, "the primary's own error, as without Helix: EF's retrying strategy retries it");
            Assert.That(() => transaction.CommitAsync(), Throws.InstanceOf<HelixException>().With.Message.Contains("checks a concurrency token"), "the transaction cannot commit what the secondary took unchecked");
        }

        Assert.That((await RowsAsync(HelixStrand.Secondary, NotesDump)).Select(r => r.Split('|')[1]), Is.EqualTo(new[] { "checked", "other" }), "rolled back on the secondary");

        await using (var context = Notes(dataSource))
        {
            var note = await context.Notes.SingleAsync(n => n.Id == id); // read again, on the secondary
            note.Text = "changed";
            await context.SaveChangesAsync();
        }

        await PostgresServers.Primary.StartAsync();
        await WaitForReplayAsync(dataSource);
        Assert.That(await RowsAsync(HelixStrand.Primary, NotesDump), Is.EqualTo(await RowsAsync(HelixStrand.Secondary, NotesDump)));
    }

    [Test]
    public async Task A_context_that_saves_without_transactions_is_refused_before_anything_runs()
    {
        await using var dataSource = HelixDataSource.Create(HelixConnectionString());
        var id = await CreateWithNoteAsync(dataSource, "kept");

        await using (var context = Notes(dataSource))
        {
            context.Database.AutoTransactionBehavior = AutoTransactionBehavior.Never;
            (await context.Notes.SingleAsync(n => n.Id == id)).Text = "refused";
            Assert.That(() => context.SaveChangesAsync(), Throws.InstanceOf<DbUpdateException>().With.InnerException.Message.Contains("AutoTransactionBehavior"));
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await RowsAsync(HelixStrand.Primary, NotesDump), Is.EqualTo(new[] { $"{id}|kept" }));
            Assert.That(await RowsAsync(HelixStrand.Secondary, NotesDump), Is.EqualTo(new[] { $"{id}|kept" }));
        });
    }

    private static Task<int> SaveAsync(DbContext context, bool sync) => sync ? Task.FromResult(context.SaveChanges()) : context.SaveChangesAsync();

    private async Task CreateAsync(HelixDataSource dataSource)
    {
        await using (var context = Notes(dataSource))
        {
            await context.Database.EnsureCreatedAsync();
        }

        // Transaction ids the secondary alone used: the servers' xmin values of one row then differ.
        for (var i = 0; i < 5; i++)
        {
            await ExecuteAsync(HelixStrand.Secondary, "SELECT txid_current()");
        }
    }

    /// <summary>Creates the table on both servers (<see cref="CreateAsync"/>) with one note in it, saved through Helix; returns its id.</summary>
    private async Task<Guid> CreateWithNoteAsync(HelixDataSource dataSource, string text, bool sync = false)
    {
        await CreateAsync(dataSource);
        var id = Guid.NewGuid();
        await using var context = Notes(dataSource);
        context.Notes.Add(new Note { Id = id, Text = text });
        await SaveAsync(context, sync);
        return id;
    }

    private async Task<uint> XminAsync(HelixStrand strand, Guid id) =>
        uint.Parse((await RowsAsync(strand, $"SELECT xmin::text FROM \"Notes\" WHERE \"Id\" = '{id}'")).Single(), System.Globalization.CultureInfo.InvariantCulture);

    private static NoteContext Notes(HelixDataSource dataSource, KillBeforeCommand? kill = null, bool retry = false, List<string>? log = null)
    {
        var options = new DbContextOptionsBuilder<NoteContext>();
        if (log is not null)
        {
            options.LogTo(log.Add, [RelationalEventId.CommandExecuting]);
        }

        if (kill is not null)
        {
            options.AddInterceptors(kill);
        }

        return new NoteContext(options.UseHelix(dataSource, (b, primary) =>
        {
            if (retry)
            {
                b.UseNpgsql(primary, npgsql => npgsql.EnableRetryOnFailure(3));
            }
            else
            {
                b.UseNpgsql(primary);
            }
        }).Options);
    }

    private sealed class Note
    {
        public Guid Id { get; set; }

        public string Text { get; set; } = string.Empty;

        [Timestamp]
        public uint Version { get; set; }
    }

    private sealed class NoteContext(DbContextOptions options) : DbContext(options)
    {
        public DbSet<Note> Notes => Set<Note>();
    }
}
