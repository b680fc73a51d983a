using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using MultiTaskKit.Tests.Cli;
using YamlDotNet.RepresentationModel;

namespace MultiTaskKit.Tests.Sweeps;

/// <summary>
/// Sweeps through the real mtk in child processes: the scheduler files parse and their command runs the cell whose
/// index arrives in the scheduler's variable; processes running different cells of one folder at once do not
/// interfere; the report names what has not finished.
/// </summary>
public class SweepProcessTests
{
    static (string Dir, string Config) Tiny(string name)
    {
        var dir = Directory.CreateTempSubdirectory(name).FullName;
        return (dir, TinyRun.Write(dir, steps: 6, checkpointEvery: 3));
    }

    static JsonNode Metrics(string sweep, int cell) => JsonNode.Parse(File.ReadAllText(Path.Combine(sweep, "cells", cell.ToString("D4"), "metrics.json")))!;

    static (int Code, string Output) Shell(string workDir, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env)
    {
        var psi = new ProcessStartInfo("bash") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        psi.Environment["MTK_THREADS"] = "1";
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(4))) { p.Kill(true); throw new TimeoutException(string.Join(' ', args)); }
        return (p.ExitCode, output.Result + error.Result);
    }

    [Fact]
    public void TheSchedulerFilesParseAndRunTheCellTheirIndexVariableNames()
    {
        var (dir, config) = Tiny("mtk-sweep-sched");
        var sweep = Path.Combine(dir, "sweep");
        var (code, output) = MtkProcess.Run(dir, "sweep", "plan", "--config", config, "--set", "optimizer.lr=0.001,0.002,0.004", "--out", sweep, "--image", "registry.example/mtk:1", "--cpus-per-task", "4");
        Assert.True(code == 0, output);

        // Kubernetes: an Indexed Job with one completion per cell, running mtk sweep run on the shared folder.
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(sweep, "job.yaml"))) yaml.Load(reader);
        var root = (YamlMappingNode)yaml.Documents.Single().RootNode;
        string S(YamlNode n, params string[] path) => ((YamlScalarNode)path.Aggregate(n, (node, key) => ((YamlMappingNode)node)[key])).Value!;
        Assert.Equal("batch/v1", S(root, "apiVersion"));
        Assert.Equal("Job", S(root, "kind"));
        Assert.Equal("Indexed", S(root, "spec", "completionMode"));
        Assert.Equal("3", S(root, "spec", "completions"));
        var container = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)root["spec"])["template"])["spec"])["containers"]).Single();
        Assert.Equal("registry.example/mtk:1", S(container, "image"));
        var command = ((YamlSequenceNode)container["command"]).Select(n => ((YamlScalarNode)n).Value!).ToList();
        var args = ((YamlSequenceNode)container["args"]).Select(n => ((YamlScalarNode)n).Value!).ToList();
        Assert.Equal(["mtk"], command);
        Assert.Equal(["sweep", "run", "--dir", Path.GetFullPath(sweep)], args.Take(4));
        var mount = (YamlMappingNode)((YamlSequenceNode)container["volumeMounts"]).Single();
        Assert.Equal(Path.GetFullPath(sweep), S(mount, "mountPath"));

        // The pod's command, with the index the Indexed Job sets.
        var psi = MtkProcess.StartInfo(dir, args.ToArray());
        psi.Environment["JOB_COMPLETION_INDEX"] = "2";
        psi.Environment["MTK_THREADS"] = "1";
        using (var p = Process.Start(psi)!)
        {
            var o = p.StandardOutput.ReadToEndAsync();
            var e = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(4)));
            Assert.True(p.ExitCode == 0, o.Result + e.Result);
        }
        Assert.Equal(0.004, JsonNode.Parse(File.ReadAllText(Path.Combine(sweep, "cells", "0002", "config.json")))!["optimizer"]!["lr"]!.GetValue<double>());
        Assert.False(Directory.Exists(Path.Combine(sweep, "cells", "0000")));

        // Slurm: an array over the cells; the script itself, run as an array task would run it.
        var slurm = File.ReadAllText(Path.Combine(sweep, "slurm.sh"));
        Assert.StartsWith("#!/bin/bash\n", slurm);
        Assert.Contains("#SBATCH --array=0-2\n", slurm);
        Assert.Contains("#SBATCH --cpus-per-task=4\n", slurm);
        Assert.Contains("--cell \"$SLURM_ARRAY_TASK_ID\"", slurm);
        var (syntax, syntaxOut) = Shell(dir, ["-n", Path.Combine(sweep, "slurm.sh")], new Dictionary<string, string>());
        Assert.True(syntax == 0, syntaxOut);
        var (rc, log) = Shell(dir, [Path.Combine(sweep, "slurm.sh")], new Dictionary<string, string>
        {
            ["MTK"] = $"dotnet {MtkProcess.MtkDll}", ["SLURM_ARRAY_TASK_ID"] = "0", ["SLURM_CPUS_PER_TASK"] = "1",
        });
        Assert.True(rc == 0, log);
        Assert.Equal(0.001, JsonNode.Parse(File.ReadAllText(Path.Combine(sweep, "cells", "0000", "config.json")))!["optimizer"]!["lr"]!.GetValue<double>());
        Assert.True(File.Exists(Path.Combine(sweep, "cells", "0000", "test_predictions.csv")));

        // Without --cell and without a scheduler's variable, sweep run says what it needs.
        var (none, noneOut) = MtkProcess.Run(dir, "sweep", "run", "--dir", sweep);
        Assert.Equal(1, none);
        Assert.Contains("SLURM_ARRAY_TASK_ID", noneOut);

        // The report: two finished, one named as not finished; it runs with nothing else running.
        var (rep, repOut) = MtkProcess.Run(dir, "sweep", "report", "--dir", sweep);
        Assert.True(rep == 0, repOut);
        Assert.Contains("3 cells, 2 finished, 1 not finished", repOut);
        Assert.Contains("not finished: 1", repOut);
        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(sweep, "report.json")))!;
        Assert.Equal([1], report["not_finished"]!.AsArray().Select(n => n!.GetValue<int>()));
        Assert.Equal("not started", report["cells"]![1]!["state"]!.GetValue<string>());
        Assert.NotNull(report["cells"]![2]!["test"]!["sentiment"]!["metrics"]!["accuracy"]);
    }

    [Fact]
    public void TwoProcessesRunningDifferentCellsOfOneFolderDoNotInterfere()
    {
        var (dir, config) = Tiny("mtk-sweep-two");
        var sweep = Path.Combine(dir, "sweep");
        var alone = Path.Combine(dir, "alone");
        foreach (var d in new[] { sweep, alone })
        {
            var (code, output) = MtkProcess.Run(dir, "sweep", "plan", "--config", config, "--set", "seed=1,2", "--out", d);
            Assert.True(code == 0, output);
        }
        // Both cells at once, in two processes, on one folder.
        var procs = new[] { 0, 1 }.Select(i => Process.Start(MtkProcess.StartInfo(dir, "sweep", "run", "--dir", sweep, "--cell", i.ToString()))!).ToList();
        var outputs = procs.Select(p => (p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync())).ToList();
        foreach (var (p, i) in procs.Select((p, i) => (p, i)))
        {
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(4)));
            Assert.True(p.ExitCode == 0, outputs[i].Item1.Result + outputs[i].Item2.Result);
        }
        // The same cells one after another in another folder: identical results, so neither run disturbed the other.
        var (code2, output2) = MtkProcess.Run(dir, "sweep", "run", "--dir", alone, "--local");
        Assert.True(code2 == 0, output2);
        for (int i = 0; i < 2; i++)
        {
            var together = Metrics(sweep, i);
            var apart = Metrics(alone, i);
            Assert.Equal(apart["tasks"]!.ToJsonString(), together["tasks"]!.ToJsonString());
            Assert.Equal((ulong)(i + 1), together["run"]!["seed"]!.GetValue<ulong>());
            Assert.Equal(File.ReadAllText(Path.Combine(alone, "cells", i.ToString("D4"), "test_predictions.csv")),
                File.ReadAllText(Path.Combine(sweep, "cells", i.ToString("D4"), "test_predictions.csv")));
        }
        // Finished cells are skipped.
        var (code3, output3) = MtkProcess.Run(dir, "sweep", "run", "--dir", sweep, "--cell", "1");
        Assert.True(code3 == 0, output3);
        Assert.Contains("finished before; skipped", output3);
    }

    [Fact]
    public void AComparisonReportsWhatFinishedAndNamesWhatDidNot()
    {
        var (dir, config) = Tiny("mtk-compare-partial");
        var folder = Path.Combine(dir, "cmp");
        var (code, output) = MtkProcess.Run(dir, "compare", "--config", config, "--seeds", "2", "--plans", "hard", "--out", folder, "--plan-only");
        Assert.True(code == 0, output);
        Assert.Contains("6 runs", output);
        foreach (var cell in new[] { "0", "1", "2" })
        {
            var (c, o) = MtkProcess.Run(dir, "sweep", "run", "--dir", folder, "--cell", cell);
            Assert.True(c == 0, o);
        }
        var (rc, report) = MtkProcess.Run(dir, "sweep", "report", "--dir", folder, "--resamples", "200");
        Assert.True(rc == 0, report);
        Assert.Contains("not finished (3 of the plan's cells", report);
        Assert.Contains("cell 3 seed=12,lr=0.002,single=sentiment: not started", report);
        Assert.Contains("sentiment: hard vs single-task:", report);
        Assert.Contains("over 1 seed", report);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "comparison.json")))!;
        Assert.Equal(3, json["unfinished"]!.AsArray().Count);
        Assert.True(new FileInfo(Path.Combine(folder, "charts", "comparison.html")).Length > 10_000);
    }

    [Fact]
    public void CompareTunesTheLearningRateOnValidationAndRunsCellsInParallel()
    {
        var (dir, config) = Tiny("mtk-compare-tune");
        var folder = Path.Combine(dir, "cmp");
        var (code, output) = MtkProcess.Run(dir, "compare", "--config", config, "--seeds", "1", "--plans", "hard", "--tune-lr", "0.001,0.004",
            "--parallel", "2", "--threads", "2", "--resamples", "100", "--out", folder);
        Assert.True(code == 0, output);
        Assert.Contains("6 to run, 2 at a time", output);
        Assert.Contains("1 threads", output); // two cells at once share the two threads
        // Every cell ran in its own process, with its own log.
        Assert.Equal(6, Directory.GetFiles(Path.Combine(folder, "logs"), "cell-*.log").Length);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "comparison.json")))!;
        Assert.Empty(json["unfinished"]!.AsArray());
        // One rate per configuration, chosen on validation: the one with the better validation score of that configuration.
        var rates = json["learning_rates"]!.AsObject();
        Assert.Equal(["hard", "single-task score", "single-task sentiment"], rates.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        var plan = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "sweep.json")))!["cells"]!.AsArray();
        double Validation(int cell, string task, string metric) =>
            JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "cells", cell.ToString("D4"), "metrics.json")))!["validation"]![task]!["metrics"]![metric]!.GetValue<double>();
        int CellOf(string role, string name, double lr) => plan.Select((c, i) => (c, i)).Single(x => x.c!["labels"]!["role"]!.GetValue<string>() == role
            && x.c["labels"]![role == "single" ? "task" : "variant"]!.GetValue<string>() == name && x.c["config"]!["optimizer"]!["lr"]!.GetValue<double>() == lr).i;
        double best = Validation(CellOf("single", "sentiment", 0.001), "sentiment", "accuracy") >= Validation(CellOf("single", "sentiment", 0.004), "sentiment", "accuracy") ? 0.001 : 0.004;
        if (Validation(CellOf("single", "sentiment", 0.001), "sentiment", "accuracy") != Validation(CellOf("single", "sentiment", 0.004), "sentiment", "accuracy"))
            Assert.Equal(best, rates["single-task sentiment"]!.GetValue<double>());
        Assert.Contains(rates["hard"]!.GetValue<double>(), new[] { 0.001, 0.004 });
    }
}
