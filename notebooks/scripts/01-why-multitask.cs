// Notebook 01 (why multi-task learning) as a script: the same library calls, printed tables, charts as HTML.
// Run: dotnet run notebooks/scripts/01-why-multitask.cs     (MTK_NOTEBOOK_SIZE=small for a quick run)
#:project ../../lib/MultiTaskKit.Tutorials
using MultiTaskKit.Charts;
using MultiTaskKit.Tutorials;

var settings = WhyMultitask.Settings.For(TutorialSizes.FromEnvironment());
Console.WriteLine(settings);
var data = ToyData.Make(settings.Inputs, settings.TrainRows, settings.ValRows, relatedness: 0.8, seed: settings.Seed);

Console.WriteLine(WhyMultitask.GradientSplit(data, settings, w1: 1.0, w2: 1.0));
Console.WriteLine(WhyMultitask.GradientSplit(data, settings, w1: 1.0, w2: 0.1));

var equal = WhyMultitask.Train(data, settings, w1: 1, w2: 1, new ConsoleProgress("equal weights"));
var runs = new[]
{
    equal,
    WhyMultitask.Train(data, settings, w1: 1, w2: 0.1, new ConsoleProgress("w2 = 0.1")),
    WhyMultitask.Train(data, settings, w1: 0.1, w2: 1, new ConsoleProgress("w1 = 0.1")),
};
Console.WriteLine(WhyMultitask.Summary(runs));

var page = ChartPage.Write(Path.Combine(ScriptOutput.Folder, "01-why-multitask.html"), "01 · Why multi-task learning?",
[
    MtlCharts.LossCurves(equal.History, new Dictionary<string, string> { ["task1"] = "MSE", ["task2"] = "MSE" }),
    WhyMultitask.WeightsChart(runs),
]);
Console.WriteLine($"charts: {page}");
