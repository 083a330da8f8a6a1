using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Helix.Data.Tool;

/// <summary>
/// The commands of the <c>helix</c> tool. Exit codes: 0 all is well (the strands agree, the command did what it was
/// asked), 1 something needs an operator (the strands differ, a strand does not answer, dead letters wait), 2 the command
/// could not run (a bad option, a table that does not exist, a strand or queue that cannot be reached). The connection
/// string is never printed: it may hold passwords.
/// </summary>
public static class Cli
{
    /// <summary>Runs the tool with <paramref name="args"/>, writing to the given writers.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Where results go.</param>
    /// <param name="error">Where errors go.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var context = new CliContext(output, error);
        var root = new RootCommand("helix: operate the two strands of a Helix.Data connection string");
        foreach (var command in TableCommands.Create(context).Concat(QueueCommands.Create(context)).Concat(StatusCommands.Create(context)))
        {
            root.Subcommands.Add(command);
        }

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Exit code 1 means "needs an operator": a command line that did not parse is 2.
            foreach (var parseError in parsed.Errors)
            {
                await error.WriteLineAsync("helix: " + parseError.Message);
            }

            return 2;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }
}

/// <summary>What every command shares: the writers, the common options, opening the data source, and error handling.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public TextWriter Output => output;

    public Option<string> Connection { get; } = new("--connection", "-c") { Description = "The Helix connection string (or set HELIX_CONNECTION)", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("HELIX_CONNECTION") ?? string.Empty };

    public Option<bool> Json { get; } = new("--json") { Description = "Print a JSON document instead of a table" };

    /// <summary>Gets a console over the output: colours and the terminal's width on a terminal; plain and wide (no wrapped cells) when redirected, for scripts and logs.</summary>
    public IAnsiConsole Console
    {
        get
        {
            var terminal = ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected;
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(output),
                Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
                ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            });
            if (!terminal)
            {
                console.Profile.Width = 240;
            }

            return console;
        }
    }

    /// <summary>
    /// Opens the application's data source as an operator's: with a durable queue it only enqueues (the application's
    /// worker applies entries, and NATS consumers stay as they are), and it starts no drain watch of its own.
    /// </summary>
    public HelixDataSource Open(ParseResult result)
    {
        var value = result.GetValue(Connection);
        var settings = new HelixConnectionStringBuilder(string.IsNullOrWhiteSpace(value) ? throw new ArgumentException("Give the Helix connection string with --connection, or in HELIX_CONNECTION.") : value);
        if (IsDurable(settings.Replay))
        {
            settings.ReplayWorker = false;
        }

        settings.DrainWatch = null;
        return new HelixDataSourceBuilder(settings.ConnectionString).Build();
    }

    /// <summary>The connection string's settings as given (for the drain watch's location and bucket).</summary>
    public HelixConnectionStringBuilder Settings(ParseResult result) => new(result.GetValue(Connection) ?? string.Empty);

    public static bool IsDurable(string replay) => !replay.Equals("Memory", StringComparison.OrdinalIgnoreCase) && !replay.Equals("None", StringComparison.OrdinalIgnoreCase);

    /// <summary>A strand by its role (<c>primary</c>, <c>secondary</c>) or its name (<c>Strand Names</c>).</summary>
    public static HelixStrand Strand(HelixDataSource dataSource, string text) =>
        dataSource.GetStatus().Strands.FirstOrDefault(s => s.Name.Equals(text, StringComparison.OrdinalIgnoreCase) || s.Strand.ToString().Equals(text, StringComparison.OrdinalIgnoreCase)) is { } status
            ? status.Strand
            : throw new ArgumentException($"'{text}' names no strand: use primary, secondary, or a name from Strand Names ({string.Join(", ", dataSource.GetStatus().Strands.Select(s => s.Name))}).");

    /// <summary>Runs a command; what goes wrong becomes a message and exit code 2, never a stack trace or the connection string.</summary>
    public async Task<int> GuardedAsync(Func<Task<int>> command)
    {
        try
        {
            return await command();
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or InvalidOperationException or TimeoutException or IOException or System.Data.Common.DbException or HelixException or NATS.Client.Core.NatsException)
        {
            await error.WriteLineAsync("helix: " + e.Message);
            return 2;
        }
    }

    public void WriteJson(object document) => output.WriteLine(JsonSerializer.Serialize(document, Indented));
}
