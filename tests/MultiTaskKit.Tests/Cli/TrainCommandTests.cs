using System.Diagnostics;
using System.Text.Json.Nodes;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Runtime;
using MultiTaskKit.Training;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Tests.Cli;

public class TrainCommandTests
{
    [Fact]
    public void TrainWritesACompleteRunFolderThatEvaluateAndPredictRead()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-train").FullName;
        var config = TinyRun.Write(dir);
        var run = Path.Combine(dir, "out");
        var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", run);
        Assert.True(code == 0, output);

        foreach (var f in new[] { "config.json", "tasks.json", "vocab.txt", "history.csv", "metrics.json", "checkpoint/model.safetensors", "checkpoint/optimizer.bin", "checkpoint/state.json", "best/model.safetensors" })
            Assert.True(File.Exists(Path.Combine(run, f)), $"missing {f}\n{output}");
        Assert.Empty(Directory.GetDirectories(run, "*.tmp-*"));
        Assert.True(new FileInfo(Path.Combine(run, "charts", "training.html")).Length > 10_000, "charts/training.html missing or empty");

        var history = File.ReadAllLines(Path.Combine(run, "history.csv"));
        Assert.Equal("step,epoch,kind,task,metric,value", history[0]);
        var rows = history.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Contains(rows, r => r[2] == "train" && r[3] == "sentiment" && r[4] == "loss");
        Assert.Contains(rows, r => r[2] == "train" && r[3] == "score" && r[4] == "weight");
        Assert.Contains(rows, r => r[2] == "eval" && r[3] == "sentiment" && r[4] == "accuracy" && r[0] == "8");
        Assert.Contains(rows, r => r[2] == "eval" && r[3] == "score" && r[4] == "pearson");
        Assert.Contains(rows, r => r[2] == "test" && r[3] == "score" && r[4] == "polarity_accuracy");
        Assert.Equal(24, rows.Where(r => r[2] == "train" && r[3] == "sentiment" && r[4] == "loss").Select(r => r[0]).Distinct().Count());

        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!;
        var sentiment = metrics["tasks"]!["sentiment"]!;
        Assert.Equal("test", sentiment["split"]!.GetValue<string>());
        Assert.True(sentiment["count"]!.GetValue<long>() > 0);
        foreach (var k in new[] { "accuracy", "macro_f1", "macro_recall" }) Assert.NotNull(sentiment["metrics"]![k]);
        foreach (var k in new[] { "mse", "pearson", "spearman", "polarity_accuracy" }) Assert.NotNull(metrics["tasks"]!["score"]!["metrics"]![k]);
        Assert.Equal(24, metrics["run"]!["steps"]!.GetValue<long>());

        // evaluate re-scores the same test split with the best weights: the same figures.
        var (ecode, eout) = MtkProcess.Run(dir, "evaluate", "--run", run, "--json");
        Assert.True(ecode == 0, eout);
        var evaluated = JsonNode.Parse(eout[eout.IndexOf('{')..])!;
        Assert.Equal(sentiment["metrics"]!["accuracy"]!.GetValue<double>(), evaluated["tasks"]!["sentiment"]!["metrics"]!["accuracy"]!.GetValue<double>(), 6);
        Assert.Equal(metrics["tasks"]!["score"]!["metrics"]!["mse"]!.GetValue<double>(), evaluated["tasks"]!["score"]!["metrics"]!["mse"]!.GetValue<double>(), 5);

        var (pcode, pout) = MtkProcess.Run(dir, "predict", "--run", run, "--text", "the film was great, really superb", "--json");
        Assert.True(pcode == 0, pout);
        var line = JsonNode.Parse(pout.Split('\n').First(l => l.StartsWith('{')))!;
        var probs = line["predictions"]!["sentiment"]!["probabilities"]!.AsObject();
        Assert.Equal(1.0, probs.Sum(p => p.Value!.GetValue<double>()), 4);
        Assert.NotNull(line["predictions"]!["score"]!["value"]);

        // In-process, the notebook path gives the same answer as the CLI.
        using var predictor = RunPredictor.Load(run);
        var p = predictor.Predict("the film was great, really superb");
        Assert.Equal(line["predictions"]!["sentiment"]!["label"]!.GetValue<string>(), p[0].Label);
        Assert.Equal(line["predictions"]!["score"]!["value"]!.GetValue<double>(), p[1].Value!.Value, 4);
    }

    [Fact]
    public void UnknownColumnFailsClearlyAndLeavesNoCheckpoint()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-bad").FullName;
        var config = TinyRun.Write(dir);
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"label_column\": \"sentiment\"", "\"label_column\": \"stars\""));
        var run = Path.Combine(dir, "out");
        var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", run);
        Assert.NotEqual(0, code);
        Assert.Contains("'stars'", output);
        Assert.Contains("reviews.csv", output);
        Assert.False(Directory.Exists(Path.Combine(run, "checkpoint")));
        Assert.False(File.Exists(Path.Combine(run, "metrics.json")));
    }

    [Fact]
    public void KilledRunResumesToTheSameMetricsAsAnUninterruptedOne()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-resume").FullName;
        var config = TinyRun.Write(dir, steps: 40, checkpointEvery: 3);
        var straight = Path.Combine(dir, "straight");
        var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", straight);
        Assert.True(code == 0, output);

        var killed = Path.Combine(dir, "killed");
        using (var p = Process.Start(MtkProcess.StartInfo(dir, "train", "--config", config, "--out", killed))!)
        {
            p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
            p.StandardError.BaseStream.CopyToAsync(Stream.Null);
            var state = Path.Combine(killed, "checkpoint", "state.json");
            var deadline = DateTime.UtcNow.AddMinutes(3);
            long step = 0;
            while (DateTime.UtcNow < deadline && !p.HasExited)
            {
                try { if (File.Exists(state)) step = JsonNode.Parse(File.ReadAllText(state))!["step"]!.GetValue<long>(); } catch (IOException) { }
                if (step >= 12) break;
                Thread.Sleep(20);
            }
            Assert.False(p.HasExited, "the run finished before it could be killed; make it longer");
            // SIGKILL: no chance to clean up, exactly like a crash or an OOM kill.
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            Assert.InRange(step, 12, 39);
        }
        Assert.False(File.Exists(Path.Combine(killed, "metrics.json")));
        (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", killed, "--resume");
        Assert.True(code == 0, output);
        Assert.Contains("resumed from step", output);

        var a = JsonNode.Parse(File.ReadAllText(Path.Combine(straight, "metrics.json")))!["tasks"]!;
        var b = JsonNode.Parse(File.ReadAllText(Path.Combine(killed, "metrics.json")))!["tasks"]!;
        foreach (var task in new[] { "sentiment", "score" })
            foreach (var (metric, value) in a[task]!["metrics"]!.AsObject())
                Assert.Equal(value!.GetValue<double>(), b[task]!["metrics"]![metric]!.GetValue<double>(), 1e-6);
        // The histories agree too: every training loss of the resumed run equals the uninterrupted one's.
        var ha = File.ReadAllLines(Path.Combine(straight, "history.csv"));
        var hb = File.ReadAllLines(Path.Combine(killed, "history.csv"));
        Assert.Equal(ha.Length, hb.Length);
        for (int i = 1; i < ha.Length; i++)
        {
            var (x, y) = (ha[i].Split(','), hb[i].Split(','));
            Assert.Equal(x[..5], y[..5]);
            Assert.Equal(double.Parse(x[5]), double.Parse(y[5]), 1e-6);
        }
    }

    [Fact]
    public void ExistingRunIsNotOverwrittenWithoutResume()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-exists").FullName;
        var config = TinyRun.Write(dir, steps: 4, checkpointEvery: 2);
        var run = Path.Combine(dir, "out");
        Assert.Equal(0, MtkProcess.Run(dir, "train", "--config", config, "--out", run).ExitCode);
        var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", run);
        Assert.NotEqual(0, code);
        Assert.Contains("--resume", output);
    }
}
