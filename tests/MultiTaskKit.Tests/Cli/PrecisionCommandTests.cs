using System.Text.Json.Nodes;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Tests.Cli;

/// <summary><c>--precision</c> end to end: what ran is recorded, and a run scores in either precision.</summary>
public class PrecisionCommandTests
{
    static string Recorded(string run, string file, params string[] path)
    {
        JsonNode node = JsonNode.Parse(File.ReadAllText(Path.Combine(run, file)))!;
        foreach (var key in path) node = node[key] ?? throw new Xunit.Sdk.XunitException($"{file}: no '{key}'");
        return node.GetValue<string>();
    }

    [Fact]
    public void ABf16RunRecordsItsPrecisionAndScoresInFp32()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-bf16").FullName;
        try
        {
            var config = TinyRun.Write(dir, steps: 8, checkpointEvery: 8);
            var run = Path.Combine(dir, "bf16");
            var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", run, "--precision", "bf16");
            Assert.True(code == 0, output);
            Assert.Equal("bf16", Recorded(run, "config.json", "runtime", "precision"));
            Assert.Equal("bf16", Recorded(run, "metrics.json", "run", "precision"));
            var trained = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!["tasks"]!["sentiment"]!["metrics"]!["accuracy"]!.GetValue<double>();

            // evaluate scores in the run's precision by default (the same figure), and in fp32 when asked (float32 weights: loads as is).
            var (ecode, eout) = MtkProcess.Run(dir, "evaluate", "--run", run, "--json");
            Assert.True(ecode == 0, eout);
            Assert.Equal(trained, JsonNode.Parse(eout[eout.IndexOf('{')..])!["tasks"]!["sentiment"]!["metrics"]!["accuracy"]!.GetValue<double>(), 6);
            var (fcode, fout) = MtkProcess.Run(dir, "evaluate", "--run", run, "--json", "--precision", "fp32");
            Assert.True(fcode == 0, fout);
            Assert.InRange(JsonNode.Parse(fout[fout.IndexOf('{')..])!["tasks"]!["sentiment"]!["metrics"]!["accuracy"]!.GetValue<double>(), 0, 1);
            var (pcode, pout) = MtkProcess.Run(dir, "predict", "--run", run, "--text", "the film was great", "--json", "--precision", "fp32");
            Assert.True(pcode == 0, pout);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void AutoIsResolvedBeforeTheRunIsRecorded()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-auto").FullName;
        try
        {
            var config = TinyRun.Write(dir, steps: 2, checkpointEvery: 2);
            var run = Path.Combine(dir, "auto");
            var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", run, "--precision", "auto");
            Assert.True(code == 0, output);
            var ran = Recorded(run, "config.json", "runtime", "precision");
            Assert.Contains(ran, new[] { "fp32", "bf16" });
            Assert.Equal(ran, Recorded(run, "metrics.json", "run", "precision"));
            if (!PrecisionProbe.NativeBf16(TorchSharp.torch.CPU).Native) Assert.Equal("fp32", ran);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void ABadPrecisionIsRefusedNamingTheOption()
    {
        var (code, output) = MtkProcess.Run(Path.GetTempPath(), "evaluate", "--run", "none", "--precision", "fp16");
        Assert.NotEqual(0, code);
        Assert.Contains("--precision: expected fp32, bf16 or auto, found 'fp16'.", output);
    }
}
