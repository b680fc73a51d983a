// Notebook 04 (task conflict: measure it, then remedy it) as a script: same library calls, tables printed, charts as HTML.
// Run: dotnet run notebooks/scripts/04-task-conflict.cs     (MTK_NOTEBOOK_SIZE=small for a quick run)
#:project ../../lib/MultiTaskKit.Tutorials
using MultiTaskKit.Charts;
using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Tutorials;

var settings = MtlLab.Settings.For(TutorialSizes.FromEnvironment());
Console.WriteLine(settings);
var data = MmoeSynthetic.Make(settings.Inputs, settings.TrainRows, settings.ValRows, correlation: 0.0, seed: settings.Seed);
Console.WriteLine($"label correlation between the tasks: {data.LabelCorrelation:0.00}");
var baselineRun = MtlLab.Train(data, settings, Lineups.ConflictRemedies()[0], new ConsoleProgress("equal weights"));
var (single, remedies) = Lineups.RunAll(data, settings, Lineups.ConflictRemedies(), name => new ConsoleProgress(name));
Console.WriteLine(MtlLab.Table("Remedies for task conflict", remedies.Prepend(single), single));
var page = ChartPage.Write(Path.Combine(ScriptOutput.Folder, "04-task-conflict.html"), "04 · Task conflict",
[
    MtlCharts.GradientCosine(baselineRun.History),
    MtlCharts.ConflictHeatmap(baselineRun.History),
    MtlCharts.DeltaM(MtlLab.ForCharts(remedies, single)),
]);
Console.WriteLine($"charts: {page}");
