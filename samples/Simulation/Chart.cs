using ScottPlot;

namespace Helix.Data.Simulation;

/// <summary>Draws a scenario second by second: operations and errors, and the replay backlog, the fault phase marked.</summary>
public static class Chart
{
    public static void Save(string path, string title, IReadOnlyList<SecondSample> seconds, double faultAt, double calmAt)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        var plots = multiplot.GetPlots();
        var time = seconds.Select(s => s.Time).ToArray();

        plots[0].Add.ScatterLine(time, seconds.Select(s => (double)s.Ok).ToArray()).LegendText = "operations / s";
        plots[0].Add.ScatterLine(time, seconds.Select(s => (double)s.Errors).ToArray()).LegendText = "errors / s";
        plots[0].Title(title);
        plots[0].YLabel("per second");

        plots[1].Add.ScatterLine(time, seconds.Select(s => (double)s.PrimaryBacklog).ToArray()).LegendText = "primary backlog";
        plots[1].Add.ScatterLine(time, seconds.Select(s => (double)s.SecondaryBacklog).ToArray()).LegendText = "secondary backlog";
        plots[1].YLabel("entries to replay");
        plots[1].XLabel("seconds since start");

        foreach (var plot in plots)
        {
            var span = plot.Add.HorizontalSpan(faultAt, calmAt); // the fault phase: a span of the time axis
            span.FillStyle.Color = Colors.Red.WithAlpha(0.1);
            span.LegendText = "fault phase";
            plot.ShowLegend(Alignment.UpperRight);
        }

        multiplot.SavePng(path, 1000, 700);
    }
}
