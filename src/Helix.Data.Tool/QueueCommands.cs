using System.CommandLine;
using Helix.Data.Replay;
using Spectre.Console;

namespace Helix.Data.Tool;

/// <summary><c>dead-letters list | show | retry | discard</c>: the entries a strand kept refusing, in a durable replay queue.</summary>
internal static class QueueCommands
{
    public static IEnumerable<Command> Create(CliContext cli)
    {
        var max = new Option<int>("--max") { Description = "At most this many", DefaultValueFactory = _ => 1000 };
        var discarded = new Option<bool>("--discarded") { Description = "The audit records of discarded dead letters instead" };
        var ids = new Argument<Guid[]>("id") { Description = "Entry ids (from list)", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Every dead letter" };
        var reason = new Option<string>("--reason") { Description = "Why (kept in the audit record)", Required = true };
        var by = new Option<string>("--by") { Description = "Who (default: user@machine)", DefaultValueFactory = _ => $"{Environment.UserName}@{Environment.MachineName}" };

        var list = new Command("list", "List the dead letters, oldest first") { cli.Connection, max, discarded, cli.Json };
        list.SetAction((result, cancellationToken) => WithQueueAsync(cli, result, async (_, queue) =>
        {
            if (result.GetValue(discarded))
            {
                var records = await queue.GetDiscardedAsync(result.GetValue(max), cancellationToken);
                WriteDiscarded(cli, result.GetValue(cli.Json), records);
                return 0;
            }

            var letters = await queue.GetDeadLettersAsync(result.GetValue(max), cancellationToken);
            WriteLetters(cli, result.GetValue(cli.Json), letters);
            return letters.Count == 0 ? 0 : 1;
        }, cancellationToken));

        var one = new Argument<Guid>("id") { Description = "The entry id" };
        var show = new Command("show", "Show one dead letter: its statements, their parameters, the error") { cli.Connection, one, cli.Json };
        show.SetAction((result, cancellationToken) => WithQueueAsync(cli, result, async (_, queue) =>
        {
            var id = result.GetValue(one);
            var letter = (await queue.GetDeadLettersAsync(int.MaxValue, cancellationToken)).FirstOrDefault(l => l.Entry.Id == id)
                ?? throw new ArgumentException($"No dead letter has the id {id}.");
            WriteLetter(cli, result.GetValue(cli.Json), letter);
            return 0;
        }, cancellationToken));

        var retry = new Command("retry", "Put dead letters back in their strand's backlog, after fixing their cause; the application's worker applies them") { cli.Connection, ids, all, cli.Json };
        retry.SetAction((result, cancellationToken) => WithQueueAsync(cli, result, async (dataSource, queue) =>
        {
            var chosen = await ChosenAsync(queue, result.GetValue(ids)!, result.GetValue(all), cancellationToken);
            var outcomes = new List<(Guid Id, bool Done)>();
            foreach (var id in chosen)
            {
                outcomes.Add((id, await dataSource.RetryDeadLetterAsync(id, cancellationToken)));
            }

            return Report(cli, result.GetValue(cli.Json), "retried", outcomes);
        }, cancellationToken));

        var discard = new Command("discard", "Give up on dead letters for good, with an audit record of who, when and why") { cli.Connection, ids, all, reason, by, cli.Json };
        discard.SetAction((result, cancellationToken) => WithQueueAsync(cli, result, async (_, queue) =>
        {
            var chosen = await ChosenAsync(queue, result.GetValue(ids)!, result.GetValue(all), cancellationToken);
            var outcomes = new List<(Guid Id, bool Done)>();
            foreach (var id in chosen)
            {
                outcomes.Add((id, await queue.DiscardDeadLetterAsync(id, result.GetValue(reason)!, result.GetValue(by)!, cancellationToken)));
            }

            return Report(cli, result.GetValue(cli.Json), "discarded", outcomes);
        }, cancellationToken));

        yield return new Command("dead-letters", "The replay entries a strand kept refusing, in the file or NATS queue of the connection string") { list, show, retry, discard };
    }

    /// <summary>Opens the data source and its durable queue (the application's memory queue is not reachable from here).</summary>
    private static Task<int> WithQueueAsync(CliContext cli, ParseResult result, Func<HelixDataSource, HelixReplayQueue, Task<int>> command, CancellationToken cancellationToken) => cli.GuardedAsync(async () =>
    {
        await using var dataSource = cli.Open(result);
        if (!CliContext.IsDurable(cli.Settings(result).Replay))
        {
            throw new InvalidOperationException("The connection string's replay queue lives in the application's memory (Replay=Memory or None): its dead letters are reached through HelixReplayQueue in the application, not from this tool.");
        }

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(TimeSpan.FromSeconds(30));
        HelixReplayQueue queue;
        try
        {
            queue = await dataSource.OpenReplayQueueAsync(wait.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException("The replay queue did not open within 30 s: is its server or file reachable from here?");
        }

        return await command(dataSource, queue);
    });

    private static async Task<IReadOnlyList<Guid>> ChosenAsync(HelixReplayQueue queue, Guid[] ids, bool all, CancellationToken cancellationToken) => (ids.Length > 0, all) switch
    {
        (true, true) => throw new ArgumentException("Give entry ids or --all, not both."),
        (false, false) => throw new ArgumentException("Give the entry ids (from dead-letters list), or --all."),
        (true, false) => ids,
        _ => [.. (await queue.GetDeadLettersAsync(int.MaxValue, cancellationToken)).Select(l => l.Entry.Id)],
    };

    private static int Report(CliContext cli, bool json, string verb, List<(Guid Id, bool Done)> outcomes)
    {
        var missing = outcomes.Where(o => !o.Done).Select(o => o.Id).ToList();
        if (json)
        {
            cli.WriteJson(new { done = outcomes.Where(o => o.Done).Select(o => o.Id), notFound = missing });
        }
        else
        {
            cli.Output.WriteLine($"{outcomes.Count - missing.Count} dead letters {verb}.");
            foreach (var id in missing)
            {
                cli.Output.WriteLine($"{id}: no dead letter has this id (already {verb}, or never one).");
            }
        }

        return missing.Count == 0 ? 0 : 1;
    }

    private static void WriteLetters(CliContext cli, bool json, IReadOnlyList<HelixDeadLetter> letters)
    {
        if (json)
        {
            cli.WriteJson(letters.Select(Document));
            return;
        }

        cli.Output.WriteLine($"{letters.Count} dead letters.");
        if (letters.Count > 0)
        {
            var table = new Table().AddColumns("id", "strand", "dead since", "statement", "reason");
            foreach (var letter in letters)
            {
                table.AddRow(letter.Entry.Id.ToString(), letter.Entry.Strand.ToString(), letter.At.ToString("u", System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(Shorten(letter.Entry.Statements[0].CommandText, 60)), Markup.Escape(Shorten(letter.Reason, 80)));
            }

            cli.Console.Write(table);
        }
    }

    private static void WriteLetter(CliContext cli, bool json, HelixDeadLetter letter)
    {
        if (json)
        {
            cli.WriteJson(Document(letter));
            return;
        }

        var entry = letter.Entry;
        cli.Output.WriteLine($"Entry {entry.Id} for strand {entry.Strand}, written {entry.CreatedAt:u}, dead since {letter.At:u}, {entry.Priority} priority{(entry.IsTransaction ? ", a transaction" : string.Empty)}");
        cli.Output.WriteLine($"Reason: {letter.Reason}");
        cli.Output.WriteLine($"Error:  {entry.Error}");
        foreach (var (statement, index) in entry.Statements.Select((s, i) => (s, i + 1)))
        {
            cli.Output.WriteLine($"Statement {index}: {statement.CommandText}");
            foreach (var parameter in statement.Parameters)
            {
                cli.Output.WriteLine($"  {parameter.ParameterName} = {(parameter.Value is null or DBNull ? "NULL" : parameter.Value)}");
            }
        }
    }

    private static void WriteDiscarded(CliContext cli, bool json, IReadOnlyList<HelixDiscardedDeadLetter> records)
    {
        if (json)
        {
            cli.WriteJson(records.Select(r => new { letter = Document(r.Letter), reason = r.Reason, by = r.By, at = r.At }));
            return;
        }

        cli.Output.WriteLine($"{records.Count} discarded dead letters.");
        if (records.Count > 0)
        {
            var table = new Table().AddColumns("id", "strand", "discarded", "by", "why");
            foreach (var record in records)
            {
                table.AddRow(record.Letter.Entry.Id.ToString(), record.Letter.Entry.Strand.ToString(), record.At.ToString("u", System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(record.By), Markup.Escape(record.Reason));
            }

            cli.Console.Write(table);
        }
    }

    private static object Document(HelixDeadLetter letter) => new
    {
        id = letter.Entry.Id,
        strand = letter.Entry.Strand.ToString(),
        createdAt = letter.Entry.CreatedAt,
        deadAt = letter.At,
        reason = letter.Reason,
        error = letter.Entry.Error,
        priority = letter.Entry.Priority.ToString(),
        transaction = letter.Entry.IsTransaction,
        statements = letter.Entry.Statements.Select(s => new { text = s.CommandText, parameters = s.Parameters.Select(p => new { name = p.ParameterName, value = p.Value is null or DBNull ? null : Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture) }) }),
    };

    private static string Shorten(string text, int length)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= length ? line : line[..(length - 1)] + "…";
    }
}
