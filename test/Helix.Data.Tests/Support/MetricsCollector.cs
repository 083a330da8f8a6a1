using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Helix.Data.Tests.Support;

/// <summary>Collects the Helix.Data meter's measurements of one data source (by its name).</summary>
internal sealed class MetricsCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly string _dataSource;
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();

    public MetricsCollector(string dataSource)
    {
        _dataSource = dataSource;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Helix.Data")
            {
                Units[instrument.Name] = instrument.Unit;
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        _listener.Start();
    }

    public ConcurrentDictionary<string, string?> Units { get; } = new();

    public void Observe() => _listener.RecordObservableInstruments();

    public double Sum(string instrument, string strand, params (string Key, object Value)[] tags) => Matching(instrument, strand, tags).Sum(m => m.Value);

    public int Count(string instrument, string strand, params (string Key, object Value)[] tags) => Matching(instrument, strand, tags).Count();

    public double Last(string instrument, string strand, params (string Key, object Value)[] tags) => Matching(instrument, strand, tags).Last().Value;

    public void Dispose() => _listener.Dispose();

    private IEnumerable<(string Instrument, double Value, Dictionary<string, object?> Tags)> Matching(string instrument, string strand, (string Key, object Value)[] tags) =>
        _measurements.Where(m => m.Instrument == instrument && Equals(m.Tags.GetValueOrDefault("helix.strand"), strand) && tags.All(t => Equals(m.Tags.GetValueOrDefault(t.Key), t.Value)));

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            map[tag.Key] = tag.Value;
        }

        if (Equals(map.GetValueOrDefault("helix.data_source"), _dataSource))
        {
            _measurements.Enqueue((instrument.Name, value, map));
        }
    }
}
