using System.Data.Common;
using Helix.Data.Internal;

namespace Helix.Data.EntityFrameworkCore.Internal;

/// <summary>
/// EF reads the migrations history of one strand (whether its table exists, the migrations applied) and applies what that
/// strand lacks to every strand. Where the strands' histories differ (a strand put in beside one in use), that would
/// apply migrations to a strand that has them (refused there: the schemas differ) or none to a strand that lacks them,
/// which nothing would show. So before such a read runs, it is run on every healthy strand, in the migration's transaction
/// where there is one, and the answers (the first column of each row) compared: where they differ, the read is refused.
/// </summary>
internal static class MigrationHistoryCheck
{
    public static async ValueTask ThrowIfStrandsDifferAsync(HelixConnection connection, DbCommand command, HelixTransaction? transaction, IOBehavior io, CancellationToken cancellationToken)
    {
        var answers = new List<(Strand Strand, List<string> Rows)>();
        foreach (var strand in connection.DataSourceOrThrow.Strands.Where(s => s.State == HelixStrandState.Healthy))
        {
            var inner = await connection.GetInnerAsync(strand, io, cancellationToken).ConfigureAwait(false);
            using var copy = inner.CreateCommand();
            copy.CommandText = command.CommandText;
            copy.Transaction = transaction?.InnerOn(inner);
            answers.Add((strand, await FirstColumnAsync(copy, io, cancellationToken).ConfigureAwait(false)));
        }

        if (answers.Count > 1 && !answers[0].Rows.SequenceEqual(answers[1].Rows))
        {
            throw new InvalidOperationException(
                $"The strands' EF Core migrations histories differ: strand {Describe(answers[0])}, strand {Describe(answers[1])}. EF reads one strand's history and applies what it lacks to both, which would fail on the other strand or leave it without the schema. "
                + "Bring the strand that lacks migrations up to date alone first (Migrate with a plain context on its connection string, or EnsureCreated through Helix for a new one), copy the rows with helix resync, then migrate through Helix.");
        }
    }

    private static string Describe((Strand Strand, List<string> Rows) answer) =>
        $"{answer.Strand.Name} answers {(answer.Rows.Count == 0 ? "nothing" : string.Join(", ", answer.Rows.Take(5)) + (answer.Rows.Count > 5 ? $" and {answer.Rows.Count - 5} more" : string.Empty))}";

    private static async ValueTask<List<string>> FirstColumnAsync(DbCommand command, IOBehavior io, CancellationToken cancellationToken)
    {
        var rows = new List<string>();
        using var reader = io == IOBehavior.Asynchronous ? await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false) : command.ExecuteReader();
        while (io == IOBehavior.Asynchronous ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read())
        {
            rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty);
        }

        return rows;
    }
}
