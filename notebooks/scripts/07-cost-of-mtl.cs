// Notebook 07 (the cost of multi-task learning) as a script: the same library calls, printed tables, charts as HTML.
// Run: dotnet run notebooks/scripts/07-cost-of-mtl.cs     (MTK_NOTEBOOK_SIZE=small for a quick run)
#:project ../../lib/MultiTaskKit.Tutorials
using MultiTaskKit.Charts;
using MultiTaskKit.Tutorials;

var settings = CostOfMtl.Settings.For(TutorialSizes.FromEnvironment());
Console.WriteLine(settings);
var measurements = CostOfMtl.Measure(settings, new ConsoleProgress("measuring"));
Console.WriteLine(CostOfMtl.Table(measurements));
var page = ChartPage.Write(Path.Combine(ScriptOutput.Folder, "07-cost-of-mtl.html"), "07 · What does multi-task learning cost?", CostOfMtl.Charts(measurements));
Console.WriteLine($"charts: {page}");
