using System.Runtime.Loader;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MultiTaskKit.Charts;

namespace MultiTaskKit.Tests.Charts;

public class ChartTests
{
    internal static List<HistoryPoint> History()
    {
        var h = new List<HistoryPoint>();
        for (int s = 1; s <= 40; s++)
        {
            double e = s / 40.0;
            h.Add(new(s, e, "train", "imdb", "loss", 1.0 / s));
            h.Add(new(s, e, "train", "tweets", "loss", 2.0 / s));
            h.Add(new(s, e, "train", "imdb", "weight", 1.0 + 0.01 * s));
            h.Add(new(s, e, "train", "tweets", "weight", 1.0 - 0.01 * s));
            h.Add(new(s, e, "train", "imdb|tweets", "grad_cosine", s <= 20 ? -0.5 : 0.5));
            if (s % 5 == 0)
                foreach (var t in new[] { "imdb", "tweets" })
                {
                    double lean = t == "imdb" ? 0.01 * s : -0.01 * s;
                    h.Add(new(s, e, "mixing", t, "gates/expert 0", 0.5 + lean));
                    h.Add(new(s, e, "mixing", t, "gates/expert 1", 0.5 - lean));
                }
            if (s % 10 == 0)
            {
                h.Add(new(s, e, "eval", "imdb", "loss", 1.2 / s));
                h.Add(new(s, e, "eval", "tweets", "loss", 2.2 / s));
                h.Add(new(s, e, "eval", "imdb", "accuracy", 0.5 + s / 100.0));
                h.Add(new(s, e, "eval", "tweets", "pearson", 0.4 + s / 100.0));
            }
        }
        return h;
    }

    static JsonObject Figure(KitChart c) => JsonNode.Parse(c.FigureJson)!.AsObject();

    internal static IEnumerable<KitChart> EveryKind()
    {
        var h = History();
        yield return MtlCharts.LossCurves(h);
        yield return MtlCharts.MetricCurves(h);
        yield return MtlCharts.TaskWeights(h);
        yield return MtlCharts.LearnedMixing(h);
        yield return MtlCharts.GradientCosine(h);
        yield return MtlCharts.ConflictHeatmap(h, windows: 2);
        yield return MtlCharts.ConfusionMatrix(["neg", "pos"], new[,] { { 40, 10 }, { 5, 45 } });
        var results = new[]
        {
            new MethodResult("single-task", new Dictionary<string, double> { ["imdb accuracy"] = 0.90, ["tweets pearson"] = 0.85 }),
            new MethodResult("hard sharing", new Dictionary<string, double> { ["imdb accuracy"] = 0.91, ["tweets pearson"] = 0.86 }, 1.2),
        };
        yield return MtlCharts.Comparison(results);
        yield return MtlCharts.DeltaM(results);
        yield return MtlCharts.LossSurface([0, 1, 2], [0, 1], new double[,] { { 0, 1, 4 }, { 1, 2, 5 } },
            [new Series("path", [2, 1, 0], [1, 0.5, 0])], "θ₁ (unitless)", "θ₂ (unitless)");
    }

    [Fact]
    public void PlotlyNetRunsOnlyInItsOwnLoadContextWithFSharpCore101()
    {
        var chart = MtlCharts.TaskWeights(History());
        Assert.Contains("\"scatter\"", chart.FigureJson);
        Assert.DoesNotContain(AssemblyLoadContext.Default.Assemblies, a => a.GetName().Name is "Plotly.NET" or "FSharp.Core");
        var isolated = PlotlyHost.Context.Assemblies.ToDictionary(a => a.GetName().Name!, a => a.GetName().Version!);
        Assert.Contains("Plotly.NET", isolated.Keys);
        Assert.True(isolated["FSharp.Core"] >= new Version(10, 1), $"FSharp.Core in the chart context is {isolated["FSharp.Core"]}, expected 10.1 or later");
    }

    [Fact]
    public void EveryChartHasATitleAndTitledAxes()
    {
        foreach (var chart in EveryKind())
        {
            var layout = Figure(chart)["layout"]!.AsObject();
            Assert.False(string.IsNullOrWhiteSpace(layout["title"]?["text"]?.GetValue<string>()), $"{chart.Title}: no chart title");
            var axes = layout.Where(kv => Regex.IsMatch(kv.Key, "^[xy]axis[0-9]*$")).ToList();
            Assert.True(axes.Count >= 2, $"{chart.Title}: expected x and y axes in the layout, found [{string.Join(", ", layout.Select(kv => kv.Key))}]");
            foreach (var (name, axis) in axes)
                Assert.False(string.IsNullOrWhiteSpace(axis?["title"]?["text"]?.GetValue<string>()), $"{chart.Title}: {name} has no title");
        }
    }

    [Fact]
    public void LearnedMixingDrawsOnePanelPerUnitAndReaderAndOneLinePerSource()
    {
        var chart = MtlCharts.LearnedMixing(History());
        var data = Figure(chart)["data"]!.AsArray();
        Assert.Equal(4, data.Count); // 2 tasks × 2 experts
        Assert.Equal(["expert 0", "expert 1", "expert 0", "expert 1"], data.Select(t => t!["name"]!.GetValue<string>()));
        Assert.Equal(8, data[0]!["y"]!.AsArray().Count);
        Assert.Equal(0.5 + 0.4, data[0]!["y"]![7]!.GetValue<double>(), 12);   // imdb leans on expert 0 by step 40
        Assert.Equal(0.5 + 0.4, data[3]!["y"]![7]!.GetValue<double>(), 12);   // tweets on expert 1
        Assert.Contains("gates: imdb reads", chart.FigureJson);
        Assert.Contains("mixing_every", Assert.Throws<ArgumentException>(() => MtlCharts.LearnedMixing(History().Where(p => p.Kind != "mixing"))).Message);
    }

    [Fact]
    public void LossCurvesDrawTrainAndValidationPerTaskWithOneLegendEntryEach()
    {
        var data = Figure(MtlCharts.LossCurves(History()))["data"]!.AsArray();
        Assert.Equal(6, data.Count); // 2 tasks × (raw train, smoothed train, validation)
        Assert.Equal(["train (raw)", "train", "validation", "train (raw)", "train", "validation"], data.Select(t => t!["name"]!.GetValue<string>()));
        Assert.Equal(3, data.Count(t => t!["showlegend"]!.GetValue<bool>()));
        Assert.Equal(40, data[0]!["y"]!.AsArray().Count);
        Assert.Equal(40, data[1]!["y"]!.AsArray().Count);
        Assert.Equal(4, data[2]!["y"]!.AsArray().Count);
        Assert.Equal(1.2 / 10, data[2]!["y"]![0]!.GetValue<double>(), 12);
        // The raw curve is faint and shares the smoothed line's colour; the smoothed line starts at the first loss.
        Assert.Equal(0.3, data[0]!["opacity"]!.GetValue<double>());
        Assert.Equal(data[1]!["line"]!["color"]!.GetValue<string>(), data[0]!["line"]!["color"]!.GetValue<string>());
        Assert.Null(data[1]!["opacity"]);
        Assert.Equal(1.0, data[1]!["y"]![0]!.GetValue<double>(), 12);
        Assert.True(data[1]!["y"]![39]!.GetValue<double>() > data[0]!["y"]![39]!.GetValue<double>(), "the average of a falling curve lags above it");
    }

    [Fact]
    public void ConflictHeatmapAveragesTheCosineInEachWindow()
    {
        var trace = Figure(MtlCharts.ConflictHeatmap(History(), windows: 2))["data"]![0]!;
        var z = trace["z"]!.AsArray();
        Assert.Equal(-0.5, z[0]![0]!.GetValue<double>(), 12); // steps 1–20 conflict
        Assert.Equal(0.5, z[0]![1]!.GetValue<double>(), 12);
        Assert.Equal(0.0, trace["zmid"]!.GetValue<double>());
    }

    [Fact]
    public void ConflictHeatmapOfSampledStepsHasNoEmptyWindows()
    {
        // The trainer samples task gradients every 10 steps: 3 samples cannot fill 20 windows, and no cell may be NaN.
        var h = new[] { 1L, 11, 21 }.Select(s => new HistoryPoint(s, 0, "train", "imdb|tweets", "grad_cosine", s / 100.0)).ToList();
        var trace = Figure(MtlCharts.ConflictHeatmap(h, windows: 20))["data"]![0]!;
        var z = trace["z"]!.AsArray()[0]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(new[] { 0.01, 0.11, 0.21 }, z);
        Assert.Equal(["1", "11", "21"], trace["x"]!.AsArray().Select(v => v!.GetValue<string>()));
    }

    [Fact]
    public void ConfusionMatrixChecksItsShapeAndShowsTheCounts()
    {
        var ex = Assert.Throws<ArgumentException>(() => MtlCharts.ConfusionMatrix(["a", "b", "c"], new int[2, 2]));
        Assert.Contains("expected 3×3", ex.Message);
        var z = Figure(MtlCharts.ConfusionMatrix(["neg", "pos"], new[,] { { 40, 10 }, { 5, 45 } }))["data"]![0]!["z"]!.AsArray();
        Assert.Equal(10, z[0]![1]!.GetValue<double>());
        Assert.Equal(5, z[1]![0]!.GetValue<double>());
    }

    [Fact]
    public void HistoryCsvRoundTripsAndNamesTheBadLine()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-history-").FullName;
        try
        {
            var path = Path.Combine(dir, "history.csv");
            // history.csv holds whole epochs (the trainer's); the charts' own points may be fractional.
            var h = History().Select(p => p with { Epoch = Math.Floor(p.Epoch) }).ToList();
            HistoryCsv.Write(path, h);
            Assert.Equal(h, HistoryCsv.Read(path));
            File.AppendAllText(path, "7,0.5,train,imdb,loss,not-a-number\n");
            var ex = Assert.Throws<InvalidDataException>(() => HistoryCsv.Read(path));
            Assert.Contains($"line {h.Count + 2}", ex.Message);
            Assert.Throws<ArgumentException>(() => HistoryCsv.Write(path, History()));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void PagesEmbedPlotlyJsOnceAndReferenceNothingOnline()
    {
        var charts = EveryKind().ToList();
        var html = ChartPage.Render("all charts", charts.Select(ChartPage.Block.Of));
        Assert.Single(Regex.Matches(html, @"\* plotly\.js v\d"));
        Assert.DoesNotMatch(@"<script[^>]+src=", html);
        Assert.DoesNotMatch(@"<link[^>]+href=""http", html);
        foreach (var c in charts) Assert.Contains($"id=\"{c.Id}\"", html);
        Assert.Equal(charts.Count, Regex.Matches(html, "class=\"mtk-chart\"").Count);
    }

    [Fact]
    public void EveryChartNeedsAxisTitles()
    {
        var ex = Assert.Throws<ArgumentException>(() => MtlCharts.Lines("t", "", "y (units)", [new Series("s", [1], [1])]));
        Assert.Contains("axis titles", ex.Message);
    }

    [SkippableFact]
    public void PngExportThroughChromiumDrawsThePlot()
    {
        Skip.If(ChromiumScreenshot.FindChromium() is null, "Chromium is not installed (apt-get install -y chromium); PNG export cannot be tested here.");
        var dir = Directory.CreateTempSubdirectory("mtk-png-").FullName;
        try
        {
            var chart = MtlCharts.LossCurves(History());
            var png = PngImage.Read(chart.SavePng(Path.Combine(dir, "loss.png")));
            var (w, h) = chart.Size;
            Assert.True(png.Width >= w && png.Height >= h, $"screenshot {png.Width}×{png.Height} smaller than the chart {w}×{h}");
            // The plot area (inside the margins) must hold lines, not just a blank background.
            Assert.True(png.DistinctColours(80, 80, w - 80, h - 80) > 20, "the plot area looks blank");
            Assert.True(png.CountNonBackground(80, 80, w - 80, h - 80) > 2000, "the plot area has too few drawn pixels");
        }
        finally { Directory.Delete(dir, true); }
    }
}
