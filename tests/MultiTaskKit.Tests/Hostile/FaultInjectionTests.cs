using System.Diagnostics;
using System.Text.Json.Nodes;
using MultiTaskKit.Tests.Cli;
using MultiTaskKit.Training;
using Xunit.Abstractions;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Tests.Hostile;

/// <summary>
/// Faults on the real <c>mtk</c> process: SIGKILL at seeded random moments (checkpoint writes included) followed by a
/// resume, two writers in one run folder, and a run name that points outside <c>runs/</c>. The last two fail on the
/// starting commit (run them with <c>MTK_TEST_MTK_DLL</c> pointing at its mtk.dll to see it).
/// </summary>
public class FaultInjectionTests(ITestOutputHelper output)
{
    /// <summary>metrics.json keys that are wall-clock timings, so they differ between any two runs.</summary>
    static readonly string[] Timings = ["train_seconds", "eval_seconds", "wall_seconds_this_process", "train_tokens_per_second"];

    static string WithoutTimings(string metricsJson)
    {
        var o = JsonNode.Parse(metricsJson)!.AsObject();
        foreach (var k in Timings) Assert.True(o["run"]!.AsObject().Remove(k), $"metrics.json has no run.{k}");
        return o.ToJsonString();
    }

    /// <summary>The test-only hold points inside a checkpoint or best/ write (<c>MTK_TEST_PAUSE</c>, see
    /// <c>TestHooks</c>) and what the run folder holds while the process is held there.</summary>
    static readonly (string Point, Func<string, bool> Inside)[] HoldPoints =
    [
        ("checkpoint-partial", run => Directory.EnumerateDirectories(run, "checkpoint.tmp-*").Any(d => File.Exists(Path.Combine(d, Checkpoint.WeightsFile)) && !File.Exists(Path.Combine(d, Checkpoint.StateFile)))),
        ("checkpoint-write", run => Directory.EnumerateDirectories(run, "checkpoint.tmp-*").Any(d => File.Exists(Path.Combine(d, Checkpoint.HistoryFile)))),
        ("checkpoint-rename", run => Directory.EnumerateDirectories(run, "checkpoint.old-*").Any() && !Directory.Exists(Path.Combine(run, "checkpoint"))),
        ("best-write", run => Directory.EnumerateDirectories(run, "best.tmp-*").Any(d => File.Exists(Path.Combine(d, Checkpoint.StateFile)))),
        ("best-rename", run => Directory.EnumerateDirectories(run, "best.old-*").Any() && !Directory.Exists(Path.Combine(run, "best"))),
    ];

    /// <summary>Sets <paramref name="psi"/> to hold at the <paramref name="nth"/> arrival at <paramref name="point"/>,
    /// signalled by <paramref name="signal"/>.</summary>
    static ProcessStartInfo HoldAt(ProcessStartInfo psi, string point, int nth, string signal)
    {
        psi.Environment["MTK_TEST_PAUSE"] = $"{point}#{nth}";
        psi.Environment["MTK_TEST_PAUSE_FILE"] = signal;
        return psi;
    }

    /// <summary>Waits for the event that <paramref name="p"/> is held (its signal file exists); fails when it ends first.
    /// The limit only keeps a broken build from hanging the suite.</summary>
    static void WaitForHold(Process p, string signal, string what)
    {
        var limit = Stopwatch.StartNew();
        while (!File.Exists(signal))
        {
            Assert.False(p.HasExited, $"{what}: the process ended (exit code {(p.HasExited ? p.ExitCode : 0)}) without reaching its hold point");
            Assert.True(limit.Elapsed < TimeSpan.FromMinutes(4), $"{what}: no hold within 4 minutes");
            Thread.Sleep(5);
        }
    }

    [Fact]
    public void SigkillAtSeededHoldPointsThenResumeGivesByteIdenticalResults()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-fault").FullName;
        var config = TinyRun.Write(dir, steps: 18, checkpointEvery: 3);
        // Evaluations every 3 steps at a rate the tiny model learns at, so best/ is rewritten several times.
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"eval_every_steps\": 8", "\"eval_every_steps\": 3").Replace("\"lr\": 0.002", "\"lr\": 0.02"));
        var straight = Path.Combine(dir, "straight");
        // The uninterrupted run logs every arrival at a hold point, so the kills below pick among arrivals that happen.
        var arrivalLog = Path.Combine(dir, "arrivals.log");
        var reference = MtkProcess.StartInfo(dir, "train", "--config", config, "--out", straight);
        reference.Environment["MTK_TEST_HOOK_LOG"] = arrivalLog;
        var (code, text) = MtkProcess.Run(reference);
        Assert.True(code == 0, text);
        var arrivals = File.ReadAllLines(arrivalLog).Select(l => l[..l.LastIndexOf('#')]).GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(18, arrivals.GetValueOrDefault("step"));
        foreach (var (point, _) in HoldPoints) Assert.True(arrivals.GetValueOrDefault(point) > 0, $"the uninterrupted run never reached {point}: {string.Join(", ", arrivals)}");
        var expectedMetrics = WithoutTimings(File.ReadAllText(Path.Combine(straight, "metrics.json")));
        var expectedHistory = File.ReadAllBytes(Path.Combine(straight, "history.csv"));

        var rng = new Random(20261129);
        var kinds = new List<string>();
        for (int k = 0; k < 10; k++)
        {
            var run = Path.Combine(dir, $"killed-{k}");
            var signal = Path.Combine(dir, $"killed-{k}.held");
            // After a seeded optimizer step (even k), or inside a seeded write of a checkpoint or best/ folder (odd k);
            // the process holds there until it is killed, so the kill lands whatever the machine's speed.
            var (point, inside) = k % 2 == 0 ? ("step", null) : HoldPoints[(k / 2) % HoldPoints.Length];
            int nth = 1 + rng.Next(arrivals[point]);
            string kind = $"{(k % 2 == 0 ? "after" : "inside")} {point} #{nth}";
            using (var p = Process.Start(HoldAt(MtkProcess.StartInfo(dir, "train", "--config", config, "--out", run), point, nth, signal))!)
            {
                _ = p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
                _ = p.StandardError.BaseStream.CopyToAsync(Stream.Null);
                try
                {
                    WaitForHold(p, signal, $"kill {k} ({kind})");
                    if (inside is not null) Assert.True(inside(run), $"kill {k} ({kind}): held, but the run folder is not as {point} leaves it");
                }
                finally
                {
                    p.Kill(entireProcessTree: true); // SIGKILL: no cleanup, as in a crash or an OOM kill
                    p.WaitForExit();
                }
            }
            File.Delete(signal);
            var left = !Directory.Exists(run) ? "(no folder yet)" : string.Join(" ", Directory.EnumerateFileSystemEntries(run).Select(Path.GetFileName).Where(n => n!.Contains(".tmp-") || n.Contains(".old-")));
            (code, text) = MtkProcess.Run(dir, "train", "--config", config, "--out", run, "--resume-if-any");
            Assert.True(code == 0, $"kill {k} ({kind}): resume failed\n{text}");
            output.WriteLine($"kill {k}: {kind}; leftovers [{left}]; {FirstLine(text, "resum")}; {FirstLine(text, "took over")}");
            Assert.Equal(expectedMetrics, WithoutTimings(File.ReadAllText(Path.Combine(run, "metrics.json"))));
            Assert.Equal(expectedHistory, File.ReadAllBytes(Path.Combine(run, "history.csv")));
            Assert.Empty(Directory.EnumerateFileSystemEntries(run, "*.tmp-*"));
            Assert.Empty(Directory.EnumerateFileSystemEntries(run, "*.old-*"));
            kinds.Add(kind);
        }
        // Ten kills landed, and every hold point was hit by one.
        Assert.Equal(10, kinds.Count);
        foreach (var (point, _) in HoldPoints) Assert.Contains(kinds, k => k.StartsWith($"inside {point} "));
        Directory.Delete(dir, recursive: true);
    }

    static string FirstLine(string text, string containing) =>
        text.Split('\n').FirstOrDefault(l => l.Contains(containing, StringComparison.OrdinalIgnoreCase))?.Trim() ?? "";

    [Fact]
    public void TwoWritersInOneRunFolder()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-two").FullName;
        var config = TinyRun.Write(dir, steps: 60, checkpointEvery: 10);
        var other = Path.Combine(dir, "other.json");
        File.WriteAllText(other, File.ReadAllText(config).Replace("\"seed\": 11", "\"seed\": 99"));
        var run = Path.Combine(dir, "shared");
        // Two trainings with different seeds into the same --out: the second starts while the first is held after its
        // first step (an event, not a delay), so exactly one may write the folder, and it is the first.
        var signal = Path.Combine(dir, "a.held");
        using var a = Process.Start(HoldAt(MtkProcess.StartInfo(dir, "train", "--config", config, "--out", run), "step", 1, signal))!;
        var aOut = Task.WhenAll(a.StandardOutput.ReadToEndAsync(), a.StandardError.ReadToEndAsync());
        string bText;
        try
        {
            WaitForHold(a, signal, "the first writer");
            (var bCode, bText) = MtkProcess.Run(dir, "train", "--config", other, "--out", run);
            Assert.True(bCode != 0, $"the second writer was not refused while the first held the folder\n{bText}");
        }
        finally { File.Delete(signal); }
        Assert.True(a.WaitForExit(TimeSpan.FromMinutes(3)), "the first writer hung after its release");
        a.WaitForExit();
        string Text(Task<string[]> t) => string.Join("\n", t.Result);
        Assert.True(a.ExitCode == 0, $"the first writer failed after its release\n{Text(aOut)}");
        var (winner, loserText, seed) = (a, bText, 11);
        Assert.Contains($"in use by process {winner.Id}", loserText);
        Assert.DoesNotContain("   at ", loserText);
        // The folder holds the winner's run, whole: its seed in the config and the report.
        Assert.Equal(seed, JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!["run"]!["seed"]!.GetValue<long>());
        Assert.Equal(seed, JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!["seed"]!.GetValue<long>());
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void RunNameCannotEscapeTheRunsFolder()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-escape").FullName;
        var work = Path.Combine(dir, "project", "sub");
        Directory.CreateDirectory(work);
        var victim = Path.Combine(dir, "victim");
        Directory.CreateDirectory(Path.Combine(victim, "best"));
        File.WriteAllText(Path.Combine(victim, "best", "notes.txt"), "the user's own file");
        File.WriteAllText(Path.Combine(victim, "metrics.json"), "{\"mine\": 1}");
        var config = TinyRun.Write(work, steps: 4, checkpointEvery: 2);
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"name\": \"tiny\"", "\"name\": \"../../../victim\""));
        var (code, text) = MtkProcess.Run(work, "train", "--config", config); // no --out: runs/<name>
        Assert.True(File.Exists(Path.Combine(victim, "best", "notes.txt")), $"the run deleted a file outside runs/\n{text}");
        Assert.Equal("{\"mine\": 1}", File.ReadAllText(Path.Combine(victim, "metrics.json")));
        Assert.Equal(["best", "metrics.json"], Directory.EnumerateFileSystemEntries(victim).Select(Path.GetFileName).Order().ToArray()!);
        Assert.NotEqual(0, code);
        Assert.Contains("'name'", text);
        Directory.Delete(dir, recursive: true);
    }
}
