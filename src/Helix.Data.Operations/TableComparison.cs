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
    /// Compares the differing rows again until they agree or <see cref="HelixVerifyOptions.Settle"/> has passed, after
    /// the data source's replay backlog is empty each time: only what stays different is reported.
    /// </summary>
    public async Task<List<HelixRowDifference>> SettleAsync(HelixDataSource dataSource, List<HelixRowDifference> differences, CancellationToken cancellationToken)
    {
        var deadline = dataSource.TimeProvider.GetTimestamp() + (long)(options.Settle.TotalSeconds * dataSource.TimeProvider.TimestampFrequency);
        while (differences.Count > 0 && dataSource.TimeProvider.GetTimestamp() < deadline)
        {
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                wait.CancelAfter(options.Settle);
                try
                {
                    await dataSource.WaitForReplayAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return differences; // the backlog did not empty in time: what differs now is what is reported
                }
            }

            var keys = differences.Select(d => d.Key).ToList();
            var still = Diff(await primary.HashesOfAsync(keys, cancellationToken), await secondary.HashesOfAsync(keys, cancellationToken));
            if (still.Count == differences.Count)
            {
                return still;
            }

            differences = still;
            await Task.Delay(TimeSpan.FromMilliseconds(200), dataSource.TimeProvider, cancellationToken);
        }

        return differences;
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
    private static List<HelixRowDifference> Diff(Dictionary<object, long> onPrimary, Dictionary<object, long> onSecondary)
    {
        var differences = new List<HelixRowDifference>();
        foreach (var (key, hash) in onPrimary)
        {
            if (!onSecondary.TryGetValue(key, out var other))
            {
                differences.Add(new(key, HelixRowDifferenceKind.MissingOnSecondary));
            }
            else if (other != hash)
            {
                differences.Add(new(key, HelixRowDifferenceKind.Differs));
            }
        }

        differences.AddRange(onSecondary.Keys.Where(k => !onPrimary.ContainsKey(k)).Select(k => new HelixRowDifference(k, HelixRowDifferenceKind.MissingOnPrimary)));
        differences.Sort((x, y) => Comparer<object>.Default.Compare(x.Key, y.Key));
        return differences;
    }
}
