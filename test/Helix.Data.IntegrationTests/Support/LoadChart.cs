using ScottPlot;

namespace Helix.Data.IntegrationTests.Support;

/// <summary>Draws what a load run did, second by second: throughput, p99 latency and replay backlog, faults marked.</summary>
public static class LoadChart
{
    public sealed record Second(double Time, double Throughput, double P99Milliseconds, double PrimaryBacklog, double SecondaryBacklog);

    public sealed record Mark(double Time, string Label);

    public static void Save(string path, string title, IReadOnlyList<Second> seconds, IReadOnlyList<Mark> marks)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(3);
        var time = seconds.Select(s => s.Time).ToArray();
        var plots = multiplot.GetPlots();

        var throughput = plots[0];
        throughput.Add.ScatterLine(time, seconds.Select(s => s.Throughput).ToArray()).LegendText = "operations acknowledged / s";
        throughput.Title(title);
        throughput.YLabel("ops / s");

        var latency = plots[1];
        latency.Add.ScatterLine(time, seconds.Select(s => s.P99Milliseconds).ToArray()).LegendText = "p99 latency (ms)";
        latency.YLabel("p99 ms");

        var backlog = plots[2];
        backlog.Add.ScatterLine(time, seconds.Select(s => s.PrimaryBacklog).ToArray()).LegendText = "primary backlog";
        backlog.Add.ScatterLine(time, seconds.Select(s => s.SecondaryBacklog).ToArray()).LegendText = "secondary backlog";
        backlog.YLabel("entries to replay");
        backlog.XLabel("seconds since start");

        foreach (var plot in plots)
        {
            foreach (var mark in marks)
            {
                var line = plot.Add.VerticalLine(mark.Time);
                line.LinePattern = LinePattern.Dashed;
                line.Color = mark.Label.Contains("stop", StringComparison.OrdinalIgnoreCase) ? Colors.Red : Colors.Green;
                if (plot == plots[2])
                {
                    line.Text = mark.Label;
                }
            }

            plot.ShowLegend(Alignment.UpperRight);
            plot.Axes.SetLimitsX(0, time.Length == 0 ? 1 : time[^1]);
        }

        multiplot.SavePng(path, 1200, 1000);
    }
}
