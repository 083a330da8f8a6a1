namespace Helix.Data.Operations;

/// <summary>The comparison of one table: ranges of keys, checksums, bisection, row hashes.</summary>
internal sealed class TableComparison(StrandTable primary, StrandTable secondary, HelixVerifyOptions options)
{
    private int _checksums;

    /// <summary>Gets how many rows the primary strand holds (counted by the top-level ranges).</summary>
    public long Rows { get; private set; }

    public int ChecksumQueries => _checksums;

    public long Transferred => primary.Transferred + secondary.Transferred;

    /// <summary>Walks the primary's keys in ranges of <see cref="HelixVerifyOptions.ChunkRows"/>; the last range is open, so rows past the primary's last key count too.</summary>
    public async Task<List<HelixRowDifference>> CompareAsync(CancellationToken cancellationToken)
    {
        var differences = new List<HelixRowDifference>();
        object? after = null;
        while (true)
        {
            var upTo = await primary.KeyAtAsync(new KeyRange(after, null), options.ChunkRows - 1, cancellationToken);
            Rows += await CompareRangeAsync(new KeyRange(after, upTo), differences, cancellationToken);
            if (upTo is null)
            {
                return differences;
            }

            after = upTo;
        }
    }

    /// <summary>
    /// Compares the differing rows again, after the data source's replay backlog is empty each time, until every row
    /// that still differs has held still (the same row on each strand in two checks in a row) or
    /// <see cref="HelixVerifyOptions.Settle"/> has passed. What a write in flight or a replay explains goes away or keeps
    /// changing; only what holds still is reported. When the backlog does not empty in that time (a strand is down,
    /// drained or out of sync), nothing explains a difference away: what differs then is reported. A zero
    /// <see cref="HelixVerifyOptions.Settle"/> reports the differences as found.
    /// </summary>
    public async Task<List<HelixRowDifference>> SettleAsync(HelixDataSource dataSource, List<HelixRowDifference> differences, CancellationToken cancellationToken)
    {
        var time = dataSource.TimeProvider;
        var started = time.GetTimestamp();
        var keys = differences.Select(d => d.Key).ToList();
        Dictionary<object, (long? Primary, long? Secondary)>? previous = null;
        var stable = options.Settle > TimeSpan.Zero ? [] : differences;
        while (time.GetElapsedTime(started) < options.Settle)
        {
            var replayed = await ReplayedAsync(dataSource, options.Settle - time.GetElapsedTime(started), cancellationToken);
            var current = Differing(keys, await primary.HashesOfAsync(keys, cancellationToken), await secondary.HashesOfAsync(keys, cancellationToken));
            if (!replayed)
            {
                return [.. current.Select(d => d.Difference)];
            }

            stable = [.. current.Where(d => previous is not null && previous.TryGetValue(d.Difference.Key, out var rows) && rows == d.Rows).Select(d => d.Difference)];
            if (current.Count == 0 || stable.Count == current.Count)
            {
                return stable;
            }

            previous = current.ToDictionary(d => d.Difference.Key, d => d.Rows);
            keys = [.. previous.Keys];
            await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken);
        }

        return stable;
    }

    /// <summary>Waits for the data source's replay backlog to empty, up to <paramref name="limit"/>; false when it did not.</summary>
    private static async Task<bool> ReplayedAsync(HelixDataSource dataSource, TimeSpan limit, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(limit > TimeSpan.Zero ? limit : TimeSpan.FromMilliseconds(1));
        try
        {
            await dataSource.WaitForReplayAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Compares a range; returns how many rows the primary holds in it.</summary>
    private async Task<long> CompareRangeAsync(KeyRange range, List<HelixRowDifference> differences, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _checksums);
        var onPrimary = primary.ChecksumAsync(range, cancellationToken);
        var onSecondary = secondary.ChecksumAsync(range, cancellationToken);
        var (a, b) = (await onPrimary, await onSecondary);
        if (a == b)
        {
            return a.Count;
        }

        var larger = Math.Max(a.Count, b.Count);
        var middle = larger <= options.RowByRowBelow ? null : await (a.Count >= b.Count ? primary : secondary).KeyAtAsync(range, (larger / 2) - 1, cancellationToken);
        if (middle is null)
        {
            differences.AddRange(Diff(await primary.HashesAsync(range, cancellationToken), await secondary.HashesAsync(range, cancellationToken)));
            return a.Count;
        }

        await CompareRangeAsync(new KeyRange(range.After, middle), differences, cancellationToken);
        await CompareRangeAsync(new KeyRange(middle, range.UpTo), differences, cancellationToken);
        return a.Count;
    }

    /// <summary>The rows that differ between two sets of row hashes, in key order.</summary>
    private static List<HelixRowDifference> Diff(Dictionary<object, long> onPrimary, Dictionary<object, long> onSecondary) =>
        [.. Differing(onPrimary.Keys.Union(onSecondary.Keys), onPrimary, onSecondary).Select(d => d.Difference)];

    /// <summary>The rows of the given keys that differ, in key order, with each strand's row hash (none: the strand lacks the row).</summary>
    private static List<(HelixRowDifference Difference, (long? Primary, long? Secondary) Rows)> Differing(IEnumerable<object> keys, Dictionary<object, long> onPrimary, Dictionary<object, long> onSecondary)
    {
        var differing = new List<(HelixRowDifference, (long?, long?))>();
        foreach (var key in keys)
        {
            (long? Primary, long? Secondary) rows = (onPrimary.TryGetValue(key, out var a) ? a : null, onSecondary.TryGetValue(key, out var b) ? b : null);
            if (rows.Primary != rows.Secondary)
            {
                var kind = rows.Primary is null ? HelixRowDifferenceKind.MissingOnPrimary : rows.Secondary is null ? HelixRowDifferenceKind.MissingOnSecondary : HelixRowDifferenceKind.Differs;
                differing.Add((new HelixRowDifference(key, kind), rows));
            }
        }

        differing.Sort((x, y) => Comparer<object>.Default.Compare(x.Item1.Key, y.Item1.Key));
        return differing;
    }
}
