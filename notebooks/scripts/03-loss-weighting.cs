// Notebook 03 (loss weighting and gradient aggregation side by side) as a script: same library calls, tables printed, charts as HTML.
// Run: dotnet run notebooks/scripts/03-loss-weighting.cs     (MTK_NOTEBOOK_SIZE=small for a quick run)
#:project ../../lib/MultiTaskKit.Tutorials
using MultiTaskKit.Charts;
using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Tutorials;

var settings = MtlLab.Settings.For(TutorialSizes.FromEnvironment());
Console.WriteLine(settings);
var data = MmoeSynthetic.Make(settings.Inputs, settings.TrainRows, settings.ValRows, correlation: 0.5, seed: settings.Seed);
Console.WriteLine($"label correlation between the tasks: {data.LabelCorrelation:0.00}");
var (baseline, results) = Lineups.RunAll(data, settings, Lineups.WeightingMethods(), name => new ConsoleProgress(name));
Console.WriteLine(MtlLab.Table("Final validation MSE and Δm", results.Prepend(baseline), baseline));
var page = ChartPage.Write(Path.Combine(ScriptOutput.Folder, "03-loss-weighting.html"), "03 · Loss weighting and gradient aggregation",
[
    MtlLab.WeightTrajectories(results),
    MtlCharts.DeltaM(MtlLab.ForCharts(results, baseline)),
    MtlCharts.Comparison(MtlLab.ForCharts(results.Prepend(baseline), baseline), yTitle: "validation MSE (squared target units)"),
]);
Console.WriteLine($"charts: {page}");
