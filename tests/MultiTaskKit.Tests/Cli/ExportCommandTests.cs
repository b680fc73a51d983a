using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.Export;

namespace MultiTaskKit.Tests.Cli;

/// <summary>
/// <c>mtk export</c> on a real run folder (a tiny random BERT trained by <c>mtk train</c>, two tasks with different
/// normalisers), <c>mtk predict --onnx</c> against <c>mtk predict --run</c>, and the one-line refusals.
/// </summary>
public class ExportCommandTests
{
    static string NewDir() => Directory.CreateTempSubdirectory("mtk-export-").FullName;

    static Dictionary<string, JsonObject> PredictionsOf(string jsonLines) =>
        jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{'))
            .Select(l => JsonNode.Parse(l)!.AsObject()).ToDictionary(o => o["text"]!.GetValue<string>(), o => o["predictions"]!.AsObject());

    internal static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Kit.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("Kit.sln not found above the test binaries");
    }

    /// <summary>Runs examples/deploy-onnx/predict.cs with <c>dotnet run</c> (a file-based app) and reads its JSON lines.</summary>
    static Dictionary<string, JsonObject> ExampleRun(string workDir, string[] args) => PredictionsOf(ExampleOutput(workDir, args));

    /// <summary>Runs examples/deploy-onnx/predict.cs and returns its standard output (exit code 0 asserted).</summary>
    internal static string ExampleOutput(string workDir, string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("run");
        psi.ArgumentList.Add(Path.Combine(RepoRoot(), "examples", "deploy-onnx", "predict.cs"));
        psi.ArgumentList.Add("--");
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10))) { p.Kill(entireProcessTree: true); throw new TimeoutException("dotnet run predict.cs ran over 10 minutes"); }
        Assert.True(p.ExitCode == 0, $"predict.cs exited {p.ExitCode}: {stdout}\n{stderr.Result}");
        return stdout;
    }

    static void AssertOneLineError(int code, string output, string expected)
    {
        Assert.True(code == 1, $"expected exit code 1, found {code}: {output}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line, found {lines.Length}:\n{output}");
        Assert.StartsWith("mtk: error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }

    [Fact]
    public void ExportedGraphPredictsWhatTheRunPredictsAndMistakesAreOneLine()
    {
        var dir = NewDir();
        var config = TinyRun.Write(dir, steps: 8, checkpointEvery: 4);
        var run = Path.Combine(dir, "run");
        var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", run);
        Assert.True(code == 0, output);

        (code, output) = MtkProcess.Run(dir, "export", "--run", run, "--format", "onnx");
        Assert.True(code == 0, output);
        var onnx = Path.Combine(run, "export", "model.onnx");
        Assert.True(File.Exists(onnx), output);
        Assert.True(File.Exists(Path.Combine(run, "export", "model.vocab.txt")));
        var manifest = OnnxManifest.Load(Path.Combine(run, "export", "model.json"));
        Assert.Equal(["sentiment", "score"], manifest.Tasks.Select(t => t.Name));
        Assert.Equal("split@1", manifest.Architecture);
        Assert.Equal(["neg", "pos"], manifest.Tasks[0].Labels);
        Assert.Equal(("classification", "probabilities", 12, "head_tail", "none"), (manifest.Tasks[0].Kind, manifest.Tasks[0].OutputKind, manifest.Tasks[0].MaxTokens, manifest.Tasks[0].Truncation, manifest.Tasks[0].Normalizer));
        Assert.Equal(("regression", "value", "tweet"), (manifest.Tasks[1].Kind, manifest.Tasks[1].OutputKind, manifest.Tasks[1].Normalizer));

        // the same texts through the run (TorchSharp) and through the graph (ONNX Runtime); one text is longer than the
        // 12-token budget, so truncation is exercised, and the score task's tweet normaliser rewrites the mention and link
        string[] texts = ["the film was great, really superb", "awful", "so dull today @friend, what a terrible and boring and poor film it was http://x.io/y"];
        var args = texts.SelectMany(t => new[] { "--text", t }).ToArray();
        (code, output) = MtkProcess.Run(dir, ["predict", "--run", run, "--json", .. args]);
        Assert.True(code == 0, output);
        var kit = PredictionsOf(output);
        (code, output) = MtkProcess.Run(dir, ["predict", "--onnx", onnx, "--json", .. args]);
        Assert.True(code == 0, output);
        var ort = PredictionsOf(output);
        foreach (var text in texts)
        {
            Assert.Equal(kit[text]["sentiment"]!["label"]!.GetValue<string>(), ort[text]["sentiment"]!["label"]!.GetValue<string>());
            foreach (var label in new[] { "neg", "pos" })
                Assert.Equal(kit[text]["sentiment"]!["probabilities"]![label]!.GetValue<double>(), ort[text]["sentiment"]!["probabilities"]![label]!.GetValue<double>(), 1e-4);
            Assert.Equal(kit[text]["score"]!["value"]!.GetValue<double>(), ort[text]["score"]!["value"]!.GetValue<double>(), 1e-4);
        }

        // the deploy example (ONNX Runtime and FastBertTokenizer only) prints what mtk predict --onnx prints
        var example = ExampleRun(dir, [onnx, .. texts, "--json"]);
        foreach (var text in texts)
        {
            Assert.Equal(ort[text]["sentiment"]!["label"]!.GetValue<string>(), example[text]["sentiment"]!["label"]!.GetValue<string>());
            foreach (var label in new[] { "neg", "pos" })
                Assert.Equal(ort[text]["sentiment"]!["probabilities"]![label]!.GetValue<double>(), example[text]["sentiment"]!["probabilities"]![label]!.GetValue<double>(), 1e-6);
            Assert.Equal(ort[text]["score"]!["value"]!.GetValue<double>(), example[text]["score"]!["value"]!.GetValue<double>(), 1e-6);
        }

        // one task, to a named file
        var only = Path.Combine(dir, "out", "score.onnx");
        (code, output) = MtkProcess.Run(dir, "export", "--run", run, "--format", "onnx", "--tasks", "score", "--out", only);
        Assert.True(code == 0, output);
        Assert.Equal(["score"], OnnxManifest.Load(Path.Combine(dir, "out", "score.json")).Tasks.Select(t => t.Name));
        Assert.True(File.Exists(Path.Combine(dir, "out", "score.vocab.txt")));

        // mistakes: one line each, naming what is wrong
        (code, output) = MtkProcess.Run(dir, "export", "--run", run, "--format", "onnx", "--tasks", "sentiment,nope");
        AssertOneLineError(code, output, "unknown task 'nope'; the run's tasks are sentiment, score");
        (code, output) = MtkProcess.Run(dir, "export", "--run", run, "--format", "onnx", "--out", dir);
        AssertOneLineError(code, output, "found a folder");
        (code, output) = MtkProcess.Run(dir, "export", "--run", run, "--format", "hf");
        AssertOneLineError(code, output, "hf export: task 'sentiment' pools by mean");
        Assert.False(Directory.Exists(Path.Combine(run, "export", "hf", "sentiment")));
        var empty = Path.Combine(dir, "not-a-run");
        Directory.CreateDirectory(empty);
        (code, output) = MtkProcess.Run(dir, "export", "--run", empty, "--format", "onnx");
        AssertOneLineError(code, output, "expected a run folder");
        // a run folder whose weights are gone
        var bare = Path.Combine(dir, "bare");
        Directory.CreateDirectory(bare);
        foreach (var f in new[] { "config.json", "tasks.json", "vocab.txt" }) File.Copy(Path.Combine(run, f), Path.Combine(bare, f));
        (code, output) = MtkProcess.Run(dir, "export", "--run", bare, "--format", "onnx");
        AssertOneLineError(code, output, "has no trained weights");
        (code, output) = MtkProcess.Run(dir, "predict", "--onnx", Path.Combine(dir, "missing.onnx"), "--text", "x");
        AssertOneLineError(code, output, "missing.onnx");
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void AnArchitectureWithoutABertCheckpointLayoutIsRefusedForHuggingFaceButExportsToOnnx()
    {
        var dir = NewDir();
        var config = TinyRun.Write(dir, steps: 4, checkpointEvery: 4, sharing: """{ "plan": "mmoe", "shared_layers": 1, "experts": 2 }""");
        var run = Path.Combine(dir, "run");
        var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", run);
        Assert.True(code == 0, output);
        (code, output) = MtkProcess.Run(dir, "export", "--run", run, "--format", "hf");
        AssertOneLineError(code, output, "hf export: task 'sentiment' runs through the mmoe architecture");
        (code, output) = MtkProcess.Run(dir, "export", "--run", run, "--format", "onnx");
        Assert.True(code == 0, output);
        Assert.Contains("mmoe", output);
        (code, output) = MtkProcess.Run(dir, "predict", "--onnx", Path.Combine(run, "export", "model.onnx"), "--text", "great film", "--json");
        Assert.True(code == 0, output);
        Assert.Single(PredictionsOf(output));
        Directory.Delete(dir, recursive: true);
    }
}
