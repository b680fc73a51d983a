using System.Text.Json.Nodes;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Tests.Cli;

/// <summary>
/// The issue's quality bar, end to end: <c>mtk casestudy --preset quick</c> on the real data. Long (tens of minutes on
/// 2 cores), so it runs only when asked for with MTK_INTEGRATION=1 and the shared data is present.
/// </summary>
public class CaseStudyIntegrationTests
{
    [SkippableFact]
    [Trait("Category", "Integration")]
    public void QuickPresetReachesTheQualityBars()
    {
        Skip.If(Environment.GetEnvironmentVariable("MTK_INTEGRATION") != "1", "Set MTK_INTEGRATION=1 to run the quick case study (tens of minutes on 2 cores).");
        var data = KitPaths.FindDataDir();
        Skip.If(data is null, "No shared/data folder found (set MTK_DATA_DIR): the case study needs IMDB and the VADER tweets.");
        var dir = Directory.CreateTempSubdirectory("mtk-casestudy").FullName;
        var run = Path.Combine(dir, "quick");
        var psi = MtkProcess.StartInfo(dir, "casestudy", "--preset", "quick", "--out", run, "--data-dir", data!);
        psi.Environment.Remove("MTK_THREADS"); // all cores, as a user would run it
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var errors = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, output.Result + errors.Result);
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!;
        var accuracy = metrics["tasks"]!["imdb"]!["metrics"]!["accuracy"]!.GetValue<double>();
        var pearson = metrics["tasks"]!["tweets"]!["metrics"]!["pearson"]!.GetValue<double>();
        Console.WriteLine($"quick case study: IMDB accuracy {accuracy:F4}, tweets Pearson {pearson:F4}, run {metrics["run"]}");
        Assert.True(accuracy >= 0.85, $"IMDB test accuracy {accuracy:F4} < 0.85");
        Assert.True(pearson >= 0.80, $"VADER test Pearson {pearson:F4} < 0.80");
    }
}
