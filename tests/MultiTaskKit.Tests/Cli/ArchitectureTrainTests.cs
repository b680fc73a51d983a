using System.Text.Json.Nodes;
using MultiTaskKit.Models.Bert;

namespace MultiTaskKit.Tests.Cli;

/// <summary><c>mtk train</c> with an architecture other than a cut trunk: cross-stitch on the MLP trunk, a gradient
/// method and a loss weighting, through the real process.</summary>
public class ArchitectureTrainTests
{
    public ArchitectureTrainTests() => MultiTaskKit.Runtime.TorchRuntime.EnsureInitialized();

    [Fact]
    public void CrossStitchOnTheMlpTrunkTrainsEvaluatesAndLearnsAlpha()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-cross-stitch").FullName;
        var config = TinyRun.Write(dir, steps: 16,
            model: """{ "trunk": "mlp", "hidden": 16, "layers": 2 }""",
            sharing: """{ "plan": "cross_stitch", "cross_stitch_self_weight": 0.8 }""",
            method: """{ "weighting": "uw", "aggregation": "pcgrad" }""");
        // a strong weight decay: it would shrink α by about (1 − 0.002·10)¹⁶ ≈ 0.72 if α were decayed
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"lr\": 0.002 }", "\"lr\": 0.002, \"weight_decay\": 10 }"));
        var run = Path.Combine(dir, "out");
        var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", run);
        Assert.True(code == 0, output);

        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!;
        Assert.Equal("cross_stitch", metrics["run"]!["sharing"]!.GetValue<string>());
        Assert.StartsWith("mlp", metrics["run"]!["trunk"]!.GetValue<string>());
        Assert.Equal(16, metrics["run"]!["steps"]!.GetValue<long>());
        var accuracy = metrics["tasks"]!["sentiment"]!["metrics"]!["accuracy"]!.GetValue<double>();
        Assert.InRange(accuracy, 0, 1);

        // the gradient method saw a gradient matrix over α: per-task norms and cosines are in the history
        var rows = File.ReadAllLines(Path.Combine(run, "history.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Contains(rows, r => r[2] == "train" && r[3] == "sentiment|score" && r[4] == "grad_cosine");
        Assert.Contains(rows, r => r[2] == "train" && r[3] == "score" && r[4] == "shared_grad_norm" && double.Parse(r[5], System.Globalization.CultureInfo.InvariantCulture) > 0);

        // α over training is in the history (every 10 steps by default): each row of α at step 10
        Assert.Contains(rows, r => r[0] == "10" && r[2] == "mixing" && r[3] == "score" && r[4] == "stitch.layers.1/from sentiment");
        Assert.Equal(3 * 4, rows.Count(r => r[2] == "mixing"));

        // α is saved, and it moved from its initial 0.8 / 0.2
        var weights = BertCheckpoint.ReadSafetensors(Path.Combine(run, "checkpoint", "model.safetensors"));
        Assert.Contains("strategy.weighting.log_variances", weights.Keys);
        foreach (var key in new[] { "shared.stitch.stem.alpha", "shared.stitch.layers.0.alpha", "shared.stitch.layers.1.alpha" })
        {
            var alpha = weights[key].data<float>().ToArray();
            Assert.Equal(4, alpha.Length);
            Assert.True(Math.Abs(alpha[0] - 0.8f) > 1e-5 || Math.Abs(alpha[1] - 0.2f) > 1e-5, $"{key} did not train: [{string.Join(", ", alpha)}]");
            // no weight decay on α: Adam moves each entry by about lr per step at most, so each row still sums to about 1
            Assert.InRange(alpha[0] + alpha[1], 0.9, 1.1);
            Assert.InRange(alpha[2] + alpha[3], 0.9, 1.1);
        }

        // evaluate rebuilds the architecture from config.json and reloads the best weights: the same figures
        var (ecode, eout) = MtkProcess.Run(dir, "evaluate", "--run", run, "--json");
        Assert.True(ecode == 0, eout);
        var evaluated = JsonNode.Parse(eout[eout.IndexOf('{')..])!;
        Assert.Equal(accuracy, evaluated["tasks"]!["sentiment"]!["metrics"]!["accuracy"]!.GetValue<double>(), 6);
    }

    const string Mlp = """{ "trunk": "mlp", "hidden": 16, "layers": 2 }""";
    const string TinyBert = """{ "trunk": "random", "hidden": 16, "layers": 3, "heads": 2, "intermediate": 32 }""";

    /// <summary>MMoE, CGC, PLE and task attention (and cross-stitch, whose MLP case is above) through <c>mtk train</c> on the MLP trunk and on a tiny BERT (the case
    /// study's two task kinds, tiny): they train, their gates are saved, and <c>mtk evaluate</c> rebuilds them from
    /// config.json.</summary>
    [Theory]
    [InlineData("""{ "plan": "mmoe", "shared_layers": 1, "experts": 2 }""", "mmoe", "gate.linear.weight", Mlp)]
    [InlineData("""{ "plan": "cgc", "shared_layers": 1, "shared_experts": 1, "task_experts": 1 }""", "cgc", "tasks.score.levels.0.gate.linear.weight", Mlp)]
    [InlineData("""{ "plan": "ple", "shared_layers": 0, "ple_levels": 2 }""", "ple", "shared.levels.0.gate.linear.weight", Mlp)]
    [InlineData("""{ "plan": "task_attention" }""", "task_attention", "tasks.sentiment.attention.layer_bias", Mlp)]
    [InlineData("""{ "plan": "mmoe", "shared_layers": 1, "experts": 2 }""", "mmoe", "gate.linear.weight", TinyBert)]
    [InlineData("""{ "plan": "cgc", "shared_layers": 1, "shared_experts": 1, "task_experts": 1 }""", "cgc", "tasks.score.levels.0.gate.linear.weight", TinyBert)]
    [InlineData("""{ "plan": "ple", "shared_layers": 1, "ple_levels": 2 }""", "ple", "shared.levels.0.gate.linear.weight", TinyBert)]
    [InlineData("""{ "plan": "task_attention" }""", "task_attention", "tasks.sentiment.attention.layer_bias", TinyBert)]
    [InlineData("""{ "plan": "cross_stitch" }""", "cross_stitch", "shared.stitch.layers.0.alpha", TinyBert)]
    public void SoftSharingArchitecturesTrainAndEvaluateThroughTheCli(string sharing, string architecture, string gateKey, string model)
    {
        var dir = Directory.CreateTempSubdirectory($"mtk-{architecture}").FullName;
        var config = TinyRun.Write(dir, steps: 8, extraTraining: ", \"mixing_every\": 4", model: model, sharing: sharing);
        var run = Path.Combine(dir, "out");
        var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", run);
        Assert.True(code == 0, output);
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!;
        Assert.Equal(architecture, metrics["run"]!["sharing"]!.GetValue<string>());
        var accuracy = metrics["tasks"]!["sentiment"]!["metrics"]!["accuracy"]!.GetValue<double>();
        var weights = BertCheckpoint.ReadSafetensors(Path.Combine(run, "checkpoint", "model.safetensors"));
        Assert.Contains(weights.Keys, k => k.EndsWith(gateKey, StringComparison.Ordinal));
        // the gate usage (attention over layers) is in the history at steps 4 and 8, a distribution per reader
        var mixing = File.ReadAllLines(Path.Combine(run, "history.csv")).Skip(1).Select(l => l.Split(',')).Where(r => r[2] == "mixing").ToList();
        Assert.Equal(["4", "8"], mixing.Select(r => r[0]).Distinct());
        // gates and layer attention are softmax distributions per reader (cross-stitch's α rows are free weights)
        if (architecture != "cross_stitch")
            foreach (var reader in mixing.Where(r => r[0] == "8").GroupBy(r => (r[3], r[4][..r[4].LastIndexOf('/')])))
                Assert.Equal(1.0, reader.Sum(r => double.Parse(r[5], System.Globalization.CultureInfo.InvariantCulture)), 5);
        var (ecode, eout) = MtkProcess.Run(dir, "evaluate", "--run", run, "--json");
        Assert.True(ecode == 0, eout);
        var evaluated = JsonNode.Parse(eout[eout.IndexOf('{')..])!;
        Assert.Equal(accuracy, evaluated["tasks"]!["sentiment"]!["metrics"]!["accuracy"]!.GetValue<double>(), 6);
    }

    [Fact]
    public void AnUnknownPlanNamesTheKnownOnes()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-bad-plan").FullName;
        var config = TinyRun.Write(dir, sharing: """{ "plan": "moe" }""");
        var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", Path.Combine(dir, "out"));
        Assert.NotEqual(0, code);
        Assert.Contains("sharing.plan must be one of hard, split, isolated, cross_stitch, mmoe, cgc, ple, task_attention, found 'moe'", output);
    }
}
