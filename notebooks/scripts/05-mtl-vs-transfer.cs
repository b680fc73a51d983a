// Notebook 05 (multi-task versus transfer learning) as a script: same library calls, tables printed, charts as HTML.
// Run: dotnet run notebooks/scripts/05-mtl-vs-transfer.cs     (MTK_NOTEBOOK_SIZE=small for a quick run)
#:project ../../lib/MultiTaskKit.Tutorials
using MultiTaskKit.Charts;
using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Tutorials;

var settings = MtlLab.Settings.For(TutorialSizes.FromEnvironment());
Console.WriteLine(settings);
var data = MmoeSynthetic.Make(settings.Inputs, settings.TrainRows, settings.ValRows, correlation: 0.7, seed: settings.Seed);
Console.WriteLine($"label correlation between the tasks: {data.LabelCorrelation:0.00}");
var cmp = TransferTutorial.Run(data, settings, name => new ConsoleProgress(name));
Console.WriteLine(TransferTutorial.Table(cmp));
Console.WriteLine($"charts: {ChartPage.Write(Path.Combine(ScriptOutput.Folder, "05-mtl-vs-transfer.html"), "05 · Multi-task or transfer learning?", [TransferTutorial.ForgettingChart(cmp)])}");
