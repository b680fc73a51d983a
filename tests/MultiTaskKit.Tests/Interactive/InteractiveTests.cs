using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive.Formatting;
using MultiTaskKit.Charts;
using MultiTaskKit.Interactive;
using MultiTaskKit.Steps;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Tests.Interactive;

[Collection(ProcessStateCollection.Name)]
public class InteractiveTests
{
    const string Attack = "<script>alert('x')</script><img src=x onerror=alert(1)>";

    [Fact]
    public void TablesEscapeDatasetText()
    {
        var html = new KitTable("tweets", ["text", "label"], [[Attack, "positive"]]).ToHtml();
        Assert.DoesNotContain("<script>alert", html);
        Assert.DoesNotContain("<img", html);
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;", html);
    }

    [Fact]
    public void DatasetCardsEscapeExamplesAndNames()
    {
        var card = new DatasetCardView("tw<script>eets", "VADER <b>tweets</b>",
            new Dictionary<string, int> { ["train"] = 3 }, new Dictionary<string, double> { ["<i>pos</i>"] = 1.0 },
            new Dictionary<string, double> { ["p50"] = 12 }, [(Attack, "<script>1</script>")]);
        var html = card.ToHtml();
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<img", html);
        Assert.DoesNotContain("<b>tweets", html);
        Assert.DoesNotContain("<i>pos", html);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", html);
    }

    [Fact]
    public void ChartFormatterShipsPlotlyJsWithTheFirstChartOfAPageOnly()
    {
        KitFormatters.Register();
        KitFormatters.NewPage();
        var chart = MtlCharts.Lines("l", "x (steps)", "y (units)", [new Series("s", [1, 2], [3, 4])]);
        var first = chart.ToDisplayString(HtmlFormatter.MimeType);
        var second = chart.ToDisplayString(HtmlFormatter.MimeType);
        Assert.Single(Regex.Matches(first, @"\* plotly\.js v\d"));
        Assert.DoesNotMatch(@"\* plotly\.js v\d", second);
        Assert.Contains($"id=\"{chart.Id}\"", second);
    }

    [Fact]
    public void ProgressViewIsQuietOutsideAKernelAndEscapesItsText()
    {
        var view = ProgressView.Show("<b>run</b>", TimeSpan.Zero);
        view.Report(new MultiTaskKit.Training.TrainingProgress("step", 1, 10, 0, new Dictionary<string, double> { ["<script>"] = 0.5 }, 2.0, 0, TimeSpan.Zero, null, Message: "<i>note</i>"));
        var html = view.ToHtml();
        Assert.Contains("step 1/10", html);
        Assert.DoesNotContain("<b>run", html);
        Assert.DoesNotContain("<script>", html);
        Assert.DoesNotContain("<i>note", html);
    }
}

[Collection(ProcessStateCollection.Name)]
public class ViewTests
{

    [Fact]
    public void ModelSummarySplitsParametersIntoSharedAndPerTask()
    {
        var trunk = new MultiTaskKit.Models.MlpTrunk(new MultiTaskKit.Models.MlpTrunkOptions(4, 8, 2));
        var model = new MultiTaskKit.Models.MultiTaskModel(trunk,
            new Dictionary<string, MultiTaskKit.Models.TaskHead> { ["a"] = new MultiTaskKit.Models.RegressionHead(8), ["b"] = new MultiTaskKit.Models.RegressionHead(8) },
            MultiTaskKit.Models.SharingPlan.SplitAt(1));
        var table = KitViews.ModelSummary(model);
        long Total(string owner) => long.Parse(table.Rows.Single(r => r[0] == $"total ({owner})")[2].Replace(",", ""));
        Assert.Equal(model.SharedParameters().Sum(p => p.numel()), Total("shared"));
        Assert.Equal(model.TaskParameters("a").Sum(p => p.numel()), Total("task a"));
        Assert.Equal(model.TaskParameters("b").Sum(p => p.numel()), Total("task b"));
        KitFormatters.Register();
        Assert.Contains("total (shared)", model.ToDisplayString(HtmlFormatter.MimeType));
    }

    [Fact]
    public void ACrossStitchNetworkShowsItsPartitionAndItsAlpha()
    {
        var trunk = new MultiTaskKit.Models.MlpTrunk(new MultiTaskKit.Models.MlpTrunkOptions(4, 8, 2));
        var model = new MultiTaskKit.Models.CrossStitchNetwork(trunk,
            new Dictionary<string, MultiTaskKit.Models.TaskHead> { ["a"] = new MultiTaskKit.Models.RegressionHead(8), ["b"] = new MultiTaskKit.Models.RegressionHead(8) });
        KitFormatters.Register();
        var html = model.ToDisplayString(HtmlFormatter.MimeType);
        Assert.Contains("Model: cross_stitch", html);
        Assert.Contains("total (shared)", html);
        Assert.Contains("Learned mixing: cross_stitch", html);
        Assert.Contains("stitch.layers.1", html);
        Assert.Contains("0.9", html);
    }

    [Fact]
    public void ModelDiagramDrawsTheSharedStackAndOneColumnPerTaskFromTheModel()
    {
        var trunk = new MultiTaskKit.Models.MlpTrunk(new MultiTaskKit.Models.MlpTrunkOptions(4, 8, 2));
        var model = new MultiTaskKit.Models.MultiTaskModel(trunk,
            new Dictionary<string, MultiTaskKit.Models.TaskHead> { ["a<b>"] = new MultiTaskKit.Models.RegressionHead(8), ["c"] = new MultiTaskKit.Models.RegressionHead(8) },
            MultiTaskKit.Models.SharingPlan.SplitAt(1));
        var diagram = ModelDiagram.Of(model);
        Assert.Equal(["stem", "layers.0"], diagram.Shared.Select(b => b.Name));
        Assert.Equal(["layers.1", "head"], diagram.Tasks["c"].Select(b => b.Name));
        // Every parameter of the network is in exactly one block.
        Assert.Equal(model.ModelParameters().Sum(p => p.numel()), diagram.Shared.Concat(diagram.Tasks.Values.SelectMany(b => b)).Sum(b => b.Parameters));
        Assert.Equal(model.TaskParameters("c").Sum(p => p.numel()), diagram.Tasks["c"].Sum(b => b.Parameters));
        var svg = diagram.ToSvg();
        Assert.StartsWith("<svg", svg);
        Assert.Contains("a&lt;b&gt;", svg);
        Assert.DoesNotContain("a<b>", svg);
        Assert.Equal(1 + diagram.Shared.Count + 2 * 2 + 2, System.Text.RegularExpressions.Regex.Matches(svg, "<rect").Count); // input, shared blocks, task blocks, one prediction per task
        KitFormatters.Register();
        Assert.Contains("mtk-model-diagram", diagram.ToDisplayString(HtmlFormatter.MimeType));
    }

    [Fact]
    public void StrategiesShowTheirHyperparameters()
    {
        var spec = MultiTaskKit.Aggregation.MethodCatalog.Create("pcgrad", ["a", "b"]);
        var table = KitViews.Strategy(spec.Aggregator!);
        Assert.Contains(table.Rows, r => r[0] == "as configured" && r[1].Contains("PCGrad", StringComparison.OrdinalIgnoreCase));
        var uw = KitViews.Strategy(MultiTaskKit.Aggregation.MethodCatalog.Create("uw", ["a", "b"]).Weighting);
        Assert.Contains(uw.Rows, r => r[0] == "type");
    }
}
