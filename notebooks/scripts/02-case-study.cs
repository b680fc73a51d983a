// Notebook 02 (the article's case study) as a script: the same library calls and trainer as `mtk casestudy`, tables
// printed, charts as HTML. Run: dotnet run notebooks/scripts/02-case-study.cs   (MTK_NOTEBOOK_SIZE=small: a minute)
#:project ../../lib/MultiTaskKit.Tutorials
// The trainer reads and writes its run configuration with reflection-based System.Text.Json, which file-based
// programs turn off by default (they default to PublishAot).
#:property PublishAot=false
using MultiTaskKit.Charts;
using MultiTaskKit.Training;
using MultiTaskKit.Tutorials;

var config = CaseStudyTutorial.Config(TutorialSizes.FromEnvironment());
var sources = CaseStudyTutorial.Sources();
var runDir = Path.Combine(Path.GetTempPath(), "mtk-notebooks", config.Name);
var (result, tasks) = CaseStudyTutorial.Train(config, runDir, sources, new Progress<TrainingProgress>(p => { if (p.Kind == "eval" || p.Step == p.TotalSteps) Console.WriteLine(p); }));
Console.WriteLine($"{result.Steps} steps in {result.TrainTime:mm\\:ss}, {result.TokensPerSecond:0} tokens/s");
foreach (var card in CaseStudyTutorial.Cards(tasks)) Console.WriteLine(card);
Console.WriteLine(CaseStudyTutorial.Metrics(result.Test, "split at layer 2: test metrics"));
var (single, hard) = CaseStudyTutorial.Compare(config, result, runDir, sources, name => new Progress<TrainingProgress>(p => { if (p.Step == p.TotalSteps && p.Kind != "eval") Console.WriteLine($"[{name}] {p}"); }));
var comparison = CaseStudyTutorial.Comparison(single, hard, result.Test);
Console.WriteLine(new KitTable("Δm against single-task models", ["model", "Δm"], comparison.Select(c => (IReadOnlyList<string>)[c.Name, c.DeltaM is { } d ? $"{100 * d:+0.0;-0.0} %" : "baseline"])));
var charts = RunChartsWriter.Charts(RunHistory.Load(Path.Combine(runDir, Trainer.HistoryFile)), result.Test);
charts.Add(MtlCharts.DeltaM(comparison));
charts.Add(MtlCharts.Comparison(comparison));
Console.WriteLine($"charts: {ChartPage.Write(Path.Combine(ScriptOutput.Folder, "02-case-study.html"), "02 · The case study", charts)}");
