using Helix.Data.Internal;

namespace Helix.Data.Nats;

/// <summary>Settings of a <see cref="NatsDrainWatch"/>.</summary>
public sealed class NatsDrainWatchOptions
{
    /// <summary>Gets or sets the key-value bucket that holds the drains (<c>Drain Bucket</c>); created when missing.</summary>
    /// <value>The default value is <c>helix-drain</c>.</value>
    public string Bucket { get; set; } = HelixDefaults.DrainBucket;

    /// <summary>
    /// Gets or sets a prefix of the keys, so that several fleets can share a bucket: the key of a strand is the prefix
    /// followed by the strand's name (<c>orders.secondary</c> with the prefix <c>orders.</c>).
    /// </summary>
    /// <value>The default value is empty: keys are strand names.</value>
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>Gets or sets the longest wait before the watch tries again after it lost the server.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan RetryMax { get; set; } = TimeSpan.FromSeconds(10);

    internal NatsDrainWatchOptions Validated()
    {
        if (string.IsNullOrWhiteSpace(Bucket) || !Bucket.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            throw new ArgumentException($"The drain bucket '{Bucket}' is not a valid NATS key-value bucket name: use letters, digits, '_' and '-'.", nameof(Bucket));
        }

        if (!KeyPrefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or '='))
        {
            throw new ArgumentException($"The drain key prefix '{KeyPrefix}' is not valid in a NATS key: use letters, digits and '_', '-', '.', '/', '='.", nameof(KeyPrefix));
        }

        if (RetryMax <= TimeSpan.Zero)
        {
            throw new ArgumentException("RetryMax must be positive.", nameof(RetryMax));
        }

        return new() { Bucket = Bucket, KeyPrefix = KeyPrefix, RetryMax = RetryMax };
    }
}
