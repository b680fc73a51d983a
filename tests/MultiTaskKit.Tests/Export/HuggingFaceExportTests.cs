using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.Export;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Export;

/// <summary>
/// <c>--format hf</c>: each task of a pooler-pooled BERT (hard, split, isolated) as a <c>BertForSequenceClassification</c>
/// folder, read back through the kit's Hugging Face loader (<see cref="BertCheckpoint.LoadModel"/>) and, where Debian's
/// python3-torch is installed, through the independent Python reader in <c>bench/hf_folder_check.py</c>; both give the
/// kit's outputs to 1e-4.
/// </summary>
public class HuggingFaceExportTests
{
    public HuggingFaceExportTests() => TorchRuntime.EnsureInitialized();

    static readonly string[] Labels3 = ["a", "b", "c"];
    static readonly string[] Labels4 = ["w", "x", "y", "z"];

    static IReadOnlyList<string> LabelsOf(string task) => task switch { "topic" => Labels3, "tags" => Labels4, _ => [] };

    /// <summary>The logits (before softmax or sigmoid; regression: the value) the kit computes for one task.</summary>
    static float[] KitLogits(MultiTaskNetwork model, string task, long[] ids, long[] mask, int rows, int tokens)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var y = model.forward(TrunkInput.FromTokens(tensor(ids, new long[] { rows, tokens }), tensor(mask, new long[] { rows, tokens })))[task];
        return y.contiguous().data<float>().ToArray();
    }

    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Kit.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("Kit.sln not found above the test binaries");
    }

    static bool PythonTorch()
    {
        if (!File.Exists("/usr/bin/python3")) return false;
        using var p = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", "import torch"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit(60_000);
        return p.ExitCode == 0;
    }

    [Theory]
    [InlineData("hard")]
    [InlineData("split@1")]
    [InlineData("isolated")]
    public void EachTaskFolderLoadsBackWithTheSameOutputs(string architecture)
    {
        using var model = OnnxParityTests.Build(architecture, "bert", BertPooling.Pooler);
        var dir = Directory.CreateTempSubdirectory("mtk-hf-").FullName;
        var vocab = Path.Combine(dir, "vocab.txt");
        File.WriteAllLines(vocab, Enumerable.Range(0, 99).Select(i => i switch { 0 => "[PAD]", 1 => "[UNK]", 2 => "[CLS]", 3 => "[SEP]", 4 => "[MASK]", _ => $"w{i}" }));
        var (ids, mask) = OnnxParityTests.Batch(4, 11, 9);
        foreach (var task in model.Tasks)
        {
            var folder = Path.Combine(dir, task);
            HuggingFaceExporter.Write(model, task, LabelsOf(task), 11, vocab, folder);
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
            Assert.Equal("BertForSequenceClassification", config["architectures"]![0]!.GetValue<string>());
            Assert.Equal(HuggingFaceExporter.ProblemType(model.Head(task)), config["problem_type"]!.GetValue<string>());
            var id2label = config["id2label"]!.AsObject();
            Assert.Equal(task == "score" ? [task] : LabelsOf(task), id2label.Select(kv => kv.Value!.GetValue<string>()));
            foreach (var (id, name) in id2label) Assert.Equal(int.Parse(id), config["label2id"]![name!.GetValue<string>()]!.GetValue<int>());
            foreach (var f in new[] { "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json" })
                Assert.True(File.Exists(Path.Combine(folder, f)), f);

            // the kit's own Hugging Face loader: the encoder with its pooler, and the classifier read from the same file
            var expected = KitLogits(model, task, ids, mask, 4, 11);
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                using var bert = BertCheckpoint.LoadModel(folder);
                Assert.NotNull(bert.Pooler);
                var weights = BertCheckpoint.ReadSafetensors(Path.Combine(folder, "model.safetensors"));
                Assert.All(weights.Keys, k => Assert.True(k.StartsWith("bert.", StringComparison.Ordinal) || k.StartsWith("classifier.", StringComparison.Ordinal), k));
                var pooled = bert.forward(tensor(ids, new long[] { 4, 11 }), tensor(mask, new long[] { 4, 11 })).PoolerOutput!;
                var logits = nn.functional.linear(pooled, weights["classifier.weight"], weights["classifier.bias"]);
                if (task == "score") logits = logits.squeeze(-1);
                var got = logits.contiguous().data<float>().ToArray();
                Assert.Equal(expected.Length, got.Length);
                var diff = expected.Zip(got, (a, b) => Math.Abs(a - b)).Max();
                Assert.True(diff <= OnnxParityTests.Tolerance, $"{architecture}, task {task}: the kit's HF loader differs by {diff:E2}");
            }

            // an independent reader: plain PyTorch, no kit code (skipped where Debian's python3-torch is absent)
            if (!PythonTorch()) continue;
            var input = Path.Combine(dir, "batch.json");
            File.WriteAllText(input, JsonSerializer.Serialize(new
            {
                input_ids = Enumerable.Range(0, 4).Select(r => ids[(r * 11)..((r + 1) * 11)]),
                attention_mask = Enumerable.Range(0, 4).Select(r => mask[(r * 11)..((r + 1) * 11)]),
            }));
            var psi = new ProcessStartInfo("/usr/bin/python3", [Path.Combine(RepoRoot(), "bench", "hf_folder_check.py"), "--folder", folder, "--input", input])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment["OMP_NUM_THREADS"] = "1";
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEnd();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, stderr);
            var python = JsonNode.Parse(stdout)!["logits"]!.AsArray().SelectMany(r => r!.AsArray().Select(v => v!.GetValue<float>())).ToArray();
            Assert.Equal(expected.Length, python.Length);
            var pdiff = expected.Zip(python, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(pdiff <= OnnxParityTests.Tolerance, $"{architecture}, task {task}: the Python reader differs by {pdiff:E2}");
        }
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>Runs bench/hf_folder_check.py on the folder and the batch; its logits, flattened (null where Debian's
    /// python3-torch is absent).</summary>
    static float[]? PythonLogits(string dir, string folder, long[] ids, long[] mask, int rows, int tokens)
    {
        if (!PythonTorch()) return null;
        var input = Path.Combine(dir, "batch.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new
        {
            input_ids = Enumerable.Range(0, rows).Select(r => ids[(r * tokens)..((r + 1) * tokens)]),
            attention_mask = Enumerable.Range(0, rows).Select(r => mask[(r * tokens)..((r + 1) * tokens)]),
        }));
        var psi = new ProcessStartInfo("/usr/bin/python3", [Path.Combine(RepoRoot(), "bench", "hf_folder_check.py"), "--folder", folder, "--input", input])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stderr);
        static IEnumerable<float> Flatten(JsonNode n) => n is JsonArray a ? a.SelectMany(x => Flatten(x!)) : [n.GetValue<float>()];
        return Flatten(JsonNode.Parse(stdout)!["logits"]!).ToArray();
    }

    [Theory]
    [InlineData("hard")]
    [InlineData("split@1")]
    [InlineData("isolated")]
    public void ATokenTaskBecomesABertForTokenClassificationFolder(string architecture)
    {
        // mean pooling: a token task reads no pool, so it exports whatever the run's pooling (its pooled siblings do not)
        using var model = OnnxTaskKindParityTests.Build(architecture, BertPooling.Mean, depths: new Dictionary<string, int>());
        var dir = Directory.CreateTempSubdirectory("mtk-hf-tokens-").FullName;
        var vocab = Path.Combine(dir, "vocab.txt");
        File.WriteAllLines(vocab, Enumerable.Range(0, 99).Select(i => i switch { 0 => "[PAD]", 1 => "[UNK]", 2 => "[CLS]", 3 => "[SEP]", 4 => "[MASK]", _ => $"w{i}" }));
        string[] tags = ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"];
        var folder = Path.Combine(dir, "ner");
        HuggingFaceExporter.Write(model, "ner", tags, 11, vocab, folder);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
        Assert.Equal("BertForTokenClassification", config["architectures"]![0]!.GetValue<string>());
        Assert.Null(config["problem_type"]);
        Assert.Equal(tags, config["id2label"]!.AsObject().Select(kv => kv.Value!.GetValue<string>()));
        var (ids, mask) = OnnxParityTests.Batch(4, 11, 9);
        var expected = KitLogits(model, "ner", ids, mask, 4, 11);
        Assert.Equal(4 * 11 * 5, expected.Length);
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            using var bert = BertCheckpoint.LoadModel(folder);
            Assert.Null(bert.Pooler);
            var weights = BertCheckpoint.ReadSafetensors(Path.Combine(folder, "model.safetensors"));
            Assert.DoesNotContain(weights.Keys, k => k.StartsWith("bert.pooler.", StringComparison.Ordinal));
            var hidden = bert.forward(tensor(ids, new long[] { 4, 11 }), tensor(mask, new long[] { 4, 11 })).LastHiddenState;
            var got = nn.functional.linear(hidden, weights["classifier.weight"], weights["classifier.bias"]).contiguous().data<float>().ToArray();
            var diff = expected.Zip(got, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(diff <= OnnxParityTests.Tolerance, $"{architecture}: the kit's HF loader differs by {diff:E2}");
        }
        if (PythonLogits(dir, folder, ids, mask, 4, 11) is { } python)
        {
            Assert.Equal(expected.Length, python.Length);
            var pdiff = expected.Zip(python, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(pdiff <= OnnxParityTests.Tolerance, $"{architecture}: the Python reader differs by {pdiff:E2}");
        }
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void ATaskBelowTheTopLayerIsRefusedForHuggingFace()
    {
        using var model = OnnxTaskKindParityTests.Build("split@1", BertPooling.Pooler);
        var e = Assert.Throws<ExportRefusedException>(() => HuggingFaceExporter.CheckExportable(model, "early"));
        Assert.Equal("hf export: task 'early' reads trunk layer 1 of 3 (depth), and transformers' BERT classifiers read the top layer; use --format onnx.", e.Message);
        e = Assert.Throws<ExportRefusedException>(() => HuggingFaceExporter.CheckExportable(model, "ner"));
        Assert.Contains("reads trunk layer 2 of 3", e.Message);
        HuggingFaceExporter.CheckExportable(model, "entail");
    }

    [Fact]
    public void PathsTransformersCannotHoldAreRefusedWithTheReason()
    {
        using var mean = OnnxParityTests.Build("split@1", "bert", BertPooling.Mean);
        var e = Assert.Throws<ExportRefusedException>(() => HuggingFaceExporter.CheckExportable(mean, "topic"));
        Assert.Contains("pools by mean", e.Message);
        using var mmoe = OnnxParityTests.Build("mmoe", "bert", BertPooling.Pooler);
        e = Assert.Throws<ExportRefusedException>(() => HuggingFaceExporter.CheckExportable(mmoe, "topic"));
        Assert.StartsWith("hf export: task 'topic' runs through the mmoe architecture", e.Message);
        using var mlp = OnnxParityTests.Build("hard", "mlp");
        e = Assert.Throws<ExportRefusedException>(() => HuggingFaceExporter.CheckExportable(mlp, "score"));
        Assert.Contains("MlpTrunk", e.Message);
    }
}
