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

    /// <summary>The test-only pause points (<c>MTK_TEST_PAUSE</c>) and how to see that the process is inside one.</summary>
    static readonly (string Point, Func<string, bool> Inside, string Folders)[] PausePoints =
    [
        ("checkpoint-partial", run => Directory.EnumerateDirectories(run, "checkpoint.tmp-*").Any(d => File.Exists(Path.Combine(d, Checkpoint.WeightsFile)) && !File.Exists(Path.Combine(d, Checkpoint.StateFile))), "checkpoint.tmp-*"),
        ("checkpoint-write", run => Directory.EnumerateDirectories(run, "checkpoint.tmp-*").Any(d => File.Exists(Path.Combine(d, Checkpoint.HistoryFile))), "checkpoint.tmp-*"),
        ("checkpoint-rename", run => Directory.EnumerateDirectories(run, "checkpoint.old-*").Any() && !Directory.Exists(Path.Combine(run, "checkpoint")), "checkpoint.old-*"),
        ("best-write", run => Directory.EnumerateDirectories(run, "best.tmp-*").Any(d => File.Exists(Path.Combine(d, Checkpoint.StateFile))), "best.tmp-*"),
        ("best-rename", run => Directory.EnumerateDirectories(run, "best.old-*").Any() && !Directory.Exists(Path.Combine(run, "best")), "best.old-*"),
    ];

    [Fact]
    public void SigkillAtRandomMomentsThenResumeGivesByteIdenticalResults()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-fault").FullName;
        var config = TinyRun.Write(dir, steps: 18, checkpointEvery: 3);
        // Evaluations every 3 steps at a rate the tiny model learns at, so best/ is rewritten several times.
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"eval_every_steps\": 8", "\"eval_every_steps\": 3").Replace("\"lr\": 0.002", "\"lr\": 0.02"));
        var straight = Path.Combine(dir, "straight");
        var clock = Stopwatch.StartNew();
        var (code, text) = MtkProcess.Run(dir, "train", "--config", config, "--out", straight);
        Assert.True(code == 0, text);
        var runSeconds = clock.Elapsed.TotalSeconds;
        var expectedMetrics = WithoutTimings(File.ReadAllText(Path.Combine(straight, "metrics.json")));
        var expectedHistory = File.ReadAllBytes(Path.Combine(straight, "history.csv"));

        var rng = new Random(20261129);
        var kinds = new List<string>();
        for (int k = 0; k < 10; k++)
        {
            var run = Path.Combine(dir, $"killed-{k}");
            // A random moment between start-up and the end of the run (even k), or inside the n-th write of a
            // checkpoint or best/ folder, held open by the test-only pause (odd k). A kill that comes too late (the
            // machine ran faster than the reference) is tried again earlier, in a fresh folder.
            double at = (0.1 + 0.8 * rng.NextDouble()) * runSeconds;
            var (point, inside, name) = PausePoints[(k / 2) % PausePoints.Length];
            int nth = 1 + rng.Next(point.EndsWith("rename") ? 2 : 3);
            string kind = "";
            bool landed = false;
            for (int attempt = 0; attempt < 4 && !landed; attempt++)
            {
                if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
                var psi = MtkProcess.StartInfo(dir, "train", "--config", config, "--out", run);
                var started = Stopwatch.StartNew();
                var seen = new HashSet<string>();
                Func<bool> due;
                if (k % 2 == 0)
                {
                    kind = $"after {at:F2} s";
                    double when = at;
                    due = () => started.Elapsed.TotalSeconds >= when;
                    at /= 2;
                }
                else
                {
                    psi.Environment["MTK_TEST_PAUSE"] = $"{point}:400";
                    kind = $"inside {point} #{nth}";
                    int n = nth;
                    due = () =>
                    {
                        foreach (var d in Directory.EnumerateDirectories(run, name)) seen.Add(d);
                        return seen.Count >= n && inside(run);
                    };
                    nth = 1;
                }
                using var p = Process.Start(psi)!;
                _ = p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
                _ = p.StandardError.BaseStream.CopyToAsync(Stream.Null);
                while (!p.HasExited && !SafeDue(due) && started.Elapsed < TimeSpan.FromMinutes(1)) Thread.Sleep(5);
                landed = !p.HasExited;
                if (landed) p.Kill(entireProcessTree: true); // SIGKILL: no cleanup, as in a crash or an OOM kill
                p.WaitForExit();
            }
            Assert.True(landed, $"kill {k} ({kind}) never landed before the run finished");
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
        // Ten kills landed, and every pause point was hit by one.
        Assert.Equal(10, kinds.Count);
        foreach (var (point, _, _) in PausePoints) Assert.Contains(kinds, k => k.StartsWith($"inside {point} "));
        Directory.Delete(dir, recursive: true);
    }

    static bool SafeDue(Func<bool> due)
    {
        try { return due(); }
        catch (IOException) { return false; } // a folder renamed while listing it
        catch (UnauthorizedAccessException) { return false; }
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
        // Two trainings with different seeds, started 0.3 s apart into the same --out: exactly one may write it.
        using var a = Process.Start(MtkProcess.StartInfo(dir, "train", "--config", config, "--out", run))!;
        var aOut = Task.WhenAll(a.StandardOutput.ReadToEndAsync(), a.StandardError.ReadToEndAsync());
        Thread.Sleep(300);
        using var b = Process.Start(MtkProcess.StartInfo(dir, "train", "--config", other, "--out", run))!;
        var bOut = Task.WhenAll(b.StandardOutput.ReadToEndAsync(), b.StandardError.ReadToEndAsync());
        Assert.True(a.WaitForExit(TimeSpan.FromMinutes(3)) && b.WaitForExit(TimeSpan.FromMinutes(3)), "a writer hung");
        string Text(Task<string[]> t) => string.Join("\n", t.Result);
        Assert.True((a.ExitCode == 0) != (b.ExitCode == 0),
            $"expected one writer to succeed and one to be refused; exit codes {a.ExitCode} and {b.ExitCode}\n{Text(aOut)}\n---\n{Text(bOut)}");
        var (winner, loserText, seed) = a.ExitCode == 0 ? (a, Text(bOut), 11) : (b, Text(aOut), 99);
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
