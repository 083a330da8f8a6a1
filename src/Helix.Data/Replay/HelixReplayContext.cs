using System.Data.Common;
using Microsoft.Extensions.Logging;

namespace Helix.Data.Replay;

/// <summary>What a replay queue learns about the data source it serves, when it is initialized.</summary>
public sealed class HelixReplayContext
{
    private readonly DbProviderFactory[] _factories;

    /// <summary>Initializes a new instance of the <see cref="HelixReplayContext"/> class (the data source makes one; tests of a queue may too).</summary>
    /// <param name="strandNames">The strands' names, primary first.</param>
    /// <param name="factories">The strands' providers, primary first.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="loggerFactory">The logger factory.</param>
    /// <param name="runsWorker">Whether this process applies the entries (the replay worker runs here).</param>
    public HelixReplayContext(IReadOnlyList<string> strandNames, DbProviderFactory[] factories, TimeProvider timeProvider, ILoggerFactory loggerFactory, bool runsWorker = true)
    {
        ArgumentNullException.ThrowIfNull(strandNames);
        ArgumentNullException.ThrowIfNull(factories);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        StrandNames = strandNames;
        RunsWorker = runsWorker;
        _factories = factories;
        TimeProvider = timeProvider;
        LoggerFactory = loggerFactory;
    }

    /// <summary>Gets the names of the strands (<c>Strand Names</c>), primary first; queues use them in subject and table names.</summary>
    public IReadOnlyList<string> StrandNames { get; }

    /// <summary>Gets a value indicating whether this process applies the entries (<c>Replay Worker=true</c>).</summary>
    public bool RunsWorker { get; }

    /// <summary>Gets the clock of the data source.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>Gets the logger factory of the data source.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Gets the provider of a strand, which makes the parameters of entries read back for it.</summary>
    /// <param name="strand">The strand.</param>
    /// <returns>Its provider.</returns>
    public DbProviderFactory FactoryOf(HelixStrand strand) => _factories[(int)strand];

    /// <summary>Reads entries that <see cref="HelixReplaySerializer.SerializeMany"/> wrote, with the strands' providers.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The entries.</returns>
    public IReadOnlyList<HelixReplayEntry> DeserializeMany(ReadOnlyMemory<byte> data) => HelixReplaySerializer.DeserializeMany(data, FactoryOf);

    /// <summary>Reads an entry that <see cref="HelixReplaySerializer.Serialize"/> wrote, with the strands' providers.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The entry.</returns>
    public HelixReplayEntry Deserialize(ReadOnlyMemory<byte> data) => HelixReplaySerializer.Deserialize(data, FactoryOf);
}
