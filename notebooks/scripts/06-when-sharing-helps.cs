// Notebook 06 (when does sharing help?) as a script: same library calls, tables printed, charts as HTML.
// Run: dotnet run notebooks/scripts/06-when-sharing-helps.cs     (MTK_NOTEBOOK_SIZE=small for a quick run)
#:project ../../lib/MultiTaskKit.Tutorials
using MultiTaskKit.Charts;
using MultiTaskKit.Tutorials;

var size = TutorialSizes.FromEnvironment();
var settings = MtlLab.Settings.For(size);
Console.WriteLine(settings);
var sweep = Lineups.RelatednessSweep(settings, Lineups.Correlations(size), name => new ConsoleProgress(name));
Console.WriteLine(Lineups.SweepTable(sweep));
var page = ChartPage.Write(Path.Combine(ScriptOutput.Folder, "06-when-sharing-helps.html"), "06 · When does sharing help?", [Lineups.SweepChart(sweep)]);
Console.WriteLine($"charts: {page}");
