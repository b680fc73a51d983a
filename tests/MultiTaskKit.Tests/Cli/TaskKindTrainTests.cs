using System.Text;
using System.Text.Json.Nodes;

namespace MultiTaskKit.Tests.Cli;

/// <summary><c>mtk train</c>, <c>evaluate</c> and <c>predict</c> for each task kind beyond single sentences, on tiny files
/// and a tiny random BERT: sentence pairs split by a column, multi-label, and CoNLL tags at their own depths.</summary>
public class TaskKindTrainTests
{
    const string Model = """{ "trunk": "random", "hidden": 16, "layers": 2, "heads": 2, "intermediate": 32 }""";

    static string Config(string name, string sharing, string training, string tasks) => $$"""
        {
          "name": "{{name}}", "seed": 5,
          "model": {{Model}},
          "sharing": {{sharing}},
          "optimizer": { "name": "adamw", "lr": 0.003 },
          "training": { "steps": 8, "eval_every_steps": 4, "checkpoint_every_steps": 4, "gradient_diagnostics_every": 2{{training}} },
          "tasks": [ {{tasks}} ]
        }
        """;

    static (string Dir, string Run, JsonNode Metrics) Train(string prefix, string config, Action<string> writeData)
    {
        var dir = Directory.CreateTempSubdirectory(prefix).FullName;
        writeData(dir);
        File.WriteAllText(Path.Combine(dir, "run.json"), config);
        var run = Path.Combine(dir, "out");
        var (code, output) = MtkProcess.Run(dir, "train", "--config", Path.Combine(dir, "run.json"), "--out", run);
        Assert.True(code == 0, output);
        return (dir, run, JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!);
    }

    /// <summary><c>mtk export --format onnx</c>, then <c>mtk predict --onnx</c> against <c>mtk predict --run</c> on the same
    /// arguments: the same labels and tags, probabilities and values to 1e-4; with <paramref name="exampleArgs"/>, the
    /// deploy example (ONNX Runtime and FastBertTokenizer only) against <c>mtk predict --onnx</c>: the same tags, labels,
    /// probabilities and values to 1e-6.</summary>
    static string ExportAndComparePredictions(string dir, string run, string[] predictArgs, string[]? exampleArgs = null)
    {
        var (xcode, xout) = MtkProcess.Run(dir, "export", "--run", run, "--format", "onnx");
        Assert.True(xcode == 0, xout);
        var onnx = Path.Combine(run, "export", "model.onnx");
        Assert.True(File.Exists(onnx), xout);
        static List<JsonObject> Lines(string output) => output.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!["predictions"]!.AsObject()).ToList();
        var (kcode, kout) = MtkProcess.Run(dir, ["predict", "--run", run, "--json", .. predictArgs]);
        Assert.True(kcode == 0, kout);
        var (ocode, oout) = MtkProcess.Run(dir, ["predict", "--onnx", onnx, "--json", .. predictArgs]);
        Assert.True(ocode == 0, oout);
        var kit = Lines(kout);
        var ort = Lines(oout);
        Assert.Equal(kit.Count, ort.Count);
        Assert.NotEmpty(kit);
        for (int i = 0; i < kit.Count; i++)
        {
            Assert.Equal(kit[i].Select(p => p.Key), ort[i].Select(p => p.Key));
            foreach (var (task, k) in kit[i])
            {
                var o = ort[i][task]!;
                if (k!["tags"] is { } tags) Assert.Equal(tags.ToJsonString(), o["tags"]!.ToJsonString());
                else if (k["value"] is { } value) Assert.Equal(value.GetValue<double>(), o["value"]!.GetValue<double>(), 1e-4);
                else
                {
                    Assert.Equal(k["label"]!.GetValue<string>(), o["label"]!.GetValue<string>());
                    foreach (var (label, pk) in k["probabilities"]!.AsObject())
                        Assert.Equal(pk!.GetValue<double>(), o["probabilities"]![label]!.GetValue<double>(), 1e-4);
                }
            }
        }
        if (exampleArgs is not null)
        {
            var example = Lines(ExportCommandTests.ExampleOutput(dir, [onnx, .. exampleArgs, "--json"]));
            Assert.Equal(ort.Count, example.Count);
            for (int i = 0; i < ort.Count; i++)
                foreach (var (task, o) in ort[i])
                {
                    var e = example[i][task]!;
                    if (o!["tags"] is { } tags) Assert.Equal(tags.ToJsonString(), e["tags"]!.ToJsonString());
                    else if (o["value"] is { } value) Assert.Equal(value.GetValue<double>(), e["value"]!.GetValue<double>(), 1e-6);
                    else
                    {
                        Assert.Equal(o["label"]!.GetValue<string>(), e["label"]!.GetValue<string>());
                        foreach (var (label, po) in o["probabilities"]!.AsObject())
                            Assert.Equal(po!.GetValue<double>(), e["probabilities"]![label]!.GetValue<double>(), 1e-6);
                    }
                }
        }
        return onnx;
    }

    [Fact]
    public void SentencePairsSplitByAColumnTrainEvaluateAndPredict()
    {
        var (dir, run, metrics) = Train("mtk-pairs", Config("pairs", """{ "plan": "split", "shared_layers": 1 }""", """, "shared_input": true""", """
            { "name": "entail", "dataset": "csv", "kind": "classification", "train": "pairs.txt", "separator": "\t", "quotes": false,
              "split_column": "set", "split_values": { "train": "TRAIN", "val": "TRIAL", "test": "TEST" },
              "text_column": "a", "text_pair_column": "b", "label_column": "label", "batch_size": 8, "max_tokens": 16 },
            { "name": "related", "dataset": "csv", "kind": "regression", "train": "pairs.txt", "separator": "\t", "quotes": false,
              "split_column": "set", "split_values": { "train": "TRAIN", "val": "TRIAL", "test": "TEST" },
              "text_column": "a", "text_pair_column": "b", "label_column": "score", "batch_size": 8, "max_tokens": 16, "depth": 1 }
            """), dir =>
        {
            var rng = new Random(2);
            var sb = new StringBuilder("id\ta\tb\tlabel\tscore\tset\r\n");
            string[] things = ["dog", "cat", "man", "child", "bird"], acts = ["runs", "sleeps", "sings", "eats"];
            for (int i = 0; i < 90; i++)
            {
                string t = things[rng.Next(5)], act = acts[rng.Next(4)], other = acts[rng.Next(4)];
                bool same = rng.Next(2) == 0;
                sb.Append($"{i}\ta {t} {act}\ta {t} {(same ? act : other)}\t{(same ? "ENTAILMENT" : "NEUTRAL")}\t{(same ? 4.5 : 2.0)}\t{(i < 60 ? "TRAIN" : i < 75 ? "TRIAL" : "TEST")}\r\n");
            }
            File.WriteAllText(Path.Combine(dir, "pairs.txt"), sb.ToString().TrimEnd('\r', '\n'));
        });
        Assert.Equal(15, metrics["tasks"]!["entail"]!["count"]!.GetValue<long>());
        Assert.NotNull(metrics["tasks"]!["related"]!["metrics"]!["spearman"]);
        var tasks = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "tasks.json")))!;
        Assert.Equal("pair", tasks["entail"]!["input"]!.GetValue<string>());

        var (ecode, eout) = MtkProcess.Run(dir, "evaluate", "--run", run, "--json");
        Assert.True(ecode == 0, eout);
        Assert.Equal(metrics["tasks"]!["entail"]!["metrics"]!["accuracy"]!.GetValue<double>(),
            JsonNode.Parse(eout[eout.IndexOf('{')..])!["tasks"]!["entail"]!["metrics"]!["accuracy"]!.GetValue<double>(), 6);
        var (pcode, pout) = MtkProcess.Run(dir, "predict", "--run", run, "--text", "a dog runs", "--pair", "a dog sleeps", "--json");
        Assert.True(pcode == 0, pout);
        var line = JsonNode.Parse(pout.Split('\n').First(l => l.StartsWith('{')))!;
        Assert.Contains(line["predictions"]!["entail"]!["label"]!.GetValue<string>(), new[] { "ENTAILMENT", "NEUTRAL" });
        Assert.NotNull(line["predictions"]!["related"]!["value"]);
        var (mcode, mout) = MtkProcess.Run(dir, "predict", "--run", run, "--text", "a dog runs");
        Assert.Equal(1, mcode);
        Assert.Contains("--pair", mout);
        // the ONNX graph takes token_type_ids; mtk predict --onnx encodes pairs as the kit does (the second text longer
        // than the 16-token budget allows, so longest-first truncation is exercised) and predicts what the run predicts,
        // the related task (depth 1) from the shared layer
        string[] args = ["--text", "a dog runs", "--pair", "a dog sleeps",
            "--text", "a child sings", "--pair", "a child sings and a bird eats and a man sleeps and a cat runs today",
            "--text", "a very small cat eats", "--pair", "a man runs"];
        var onnx = ExportAndComparePredictions(dir, run, args, ["a dog runs", "--pair", "a dog sleeps",
            "a child sings", "--pair", "a child sings and a bird eats and a man sleeps and a cat runs today", "a very small cat eats", "--pair", "a man runs"]);
        var manifest = MultiTaskKit.Export.OnnxManifest.Load(Path.Combine(run, "export", "model.json"));
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], manifest.Inputs);
        Assert.Equal([("pair", null), ("pair", 1)], manifest.Tasks.Select(t => (t.Input, t.Depth)));
        var (ocode, oout) = MtkProcess.Run(dir, "predict", "--onnx", onnx, "--text", "a dog runs");
        Assert.Equal(1, ocode);
        Assert.Contains("task 'entail' reads sentence pairs; give the second text of each (mtk predict --pair)", oout);
        // Hugging Face's BERT classifiers read the top layer: the depth-1 task is refused, naming it
        var (hcode, hout) = MtkProcess.Run(dir, "export", "--run", run, "--format", "hf", "--tasks", "related");
        Assert.Equal(1, hcode);
        Assert.Contains("hf export: task 'related' reads trunk layer 1 of 2 (depth)", hout);
    }

    [Fact]
    public void MultiLabelTrainsEvaluatesAndPredictsTheLabelsThatApply()
    {
        var (dir, run, metrics) = Train("mtk-multilabel", Config("emotions", """{ "plan": "hard" }""", "", """
            { "name": "emotions", "dataset": "csv", "kind": "multi_label", "train": "emotions.tsv", "text_column": "text", "label_column": "labels",
              "label_delimiter": "|", "threshold": 0.4, "batch_size": 8, "max_tokens": 12 }
            """), dir =>
        {
            var rng = new Random(4);
            var sb = new StringBuilder("text\tlabels\n");
            for (int i = 0; i < 80; i++)
            {
                bool joy = rng.Next(2) == 0, anger = rng.Next(2) == 0;
                var words = new List<string> { "today" };
                if (joy) words.Add("happy");
                if (anger) words.Add("furious");
                var labels = new List<string>();
                if (joy) labels.Add("joy");
                if (anger) labels.Add("anger");
                sb.Append($"{string.Join(' ', words)}\t{(labels.Count == 0 ? "-" : string.Join('|', labels))}\n");
            }
            File.WriteAllText(Path.Combine(dir, "emotions.tsv"), sb.ToString());
        });
        var m = metrics["tasks"]!["emotions"]!["metrics"]!;
        foreach (var k in new[] { "micro_f1", "macro_f1", "subset_accuracy", "hamming_loss", "f1/joy", "f1/anger" }) Assert.NotNull(m[k]);
        var (ecode, eout) = MtkProcess.Run(dir, "evaluate", "--run", run, "--json");
        Assert.True(ecode == 0, eout);
        Assert.Equal(m["micro_f1"]!.GetValue<double>(), JsonNode.Parse(eout[eout.IndexOf('{')..])!["tasks"]!["emotions"]!["metrics"]!["micro_f1"]!.GetValue<double>(), 6);
        var (pcode, pout) = MtkProcess.Run(dir, "predict", "--run", run, "--text", "today happy", "--json");
        Assert.True(pcode == 0, pout);
        var probabilities = JsonNode.Parse(pout.Split('\n').First(l => l.StartsWith('{')))!["predictions"]!["emotions"]!["probabilities"]!.AsObject();
        Assert.Equal(["anger", "joy"], probabilities.Select(p => p.Key).Order());
        // test_predictions.csv: the labels that apply, gold and predicted, as label-index lists
        var recorded = MultiTaskKit.Evaluation.TestPredictions.Read(run)["emotions"];
        Assert.Equal("multi_label", recorded.Kind);
        Assert.Equal(metrics["tasks"]!["emotions"]!["count"]!.GetValue<int>(), recorded.Rows.Count);
        Assert.All(recorded.Rows, r => Assert.True(r.IsList && r.GoldIndices!.All(i => i is 0 or 1) && r.PredictedIndices!.All(i => i is 0 or 1)));
        // the export records the 0.4 threshold, and mtk predict --onnx picks the labels that apply as the run does
        ExportAndComparePredictions(dir, run, ["--text", "today happy", "--text", "today furious happy", "--text", "today"]);
        Assert.Equal(0.4, MultiTaskKit.Export.OnnxManifest.Load(Path.Combine(run, "export", "model.json")).Tasks[0].Threshold);
    }

    const string ConllTrain = "-DOCSTART- -X- -X- O\n\n";

    static string Sentence(Random rng)
    {
        string[] people = ["Peter", "Anna", "John"], places = ["Paris", "Berlin", "London"];
        var p = people[rng.Next(3)];
        var l = places[rng.Next(3)];
        return rng.Next(2) == 0
            ? $"{p} NNP B-NP B-PER\nvisited VBD B-VP O\n{l} NNP B-NP B-LOC\n. . O O\n\n"
            : $"The DT B-NP O\nman NN I-NP O\nin IN B-PP O\n{l} NNP B-NP B-LOC\nsaw VBD B-VP O\n{p} NNP B-NP B-PER\nSmith NNP I-NP I-PER\n\n";
    }

    [Fact]
    public void ConllTagsTrainAtTheirOwnDepthsAndPredictTaggedWords()
    {
        string Task(string name, string column, int depth) => $$"""
            { "name": "{{name}}", "dataset": "conll", "kind": "token_classification", "depth": {{depth}}, "train": "train.conll", "val": "dev.conll", "test": "test.conll",
              "columns": ["token", "pos", "chunk", "ner"], "text_column": "token", "label_column": "{{column}}", "batch_size": 8, "max_tokens": 24 }
            """;
        var (dir, run, metrics) = Train("mtk-conll", Config("tags", """{ "plan": "hard" }""", """, "shared_input": true, "selection_metric": "ner/entity_f1" """,
            string.Join(",", Task("pos", "pos", 1), Task("chunk", "chunk", 1), Task("ner", "ner", 2))), dir =>
        {
            var rng = new Random(6);
            foreach (var (file, n) in new[] { ("train.conll", 60), ("dev.conll", 12), ("test.conll", 12) })
                File.WriteAllText(Path.Combine(dir, file), ConllTrain + string.Concat(Enumerable.Range(0, n).Select(_ => Sentence(rng))));
        });
        Assert.NotNull(metrics["tasks"]!["pos"]!["metrics"]!["token_accuracy"]);
        Assert.Null(metrics["tasks"]!["pos"]!["metrics"]!["entity_f1"]);
        foreach (var k in new[] { "entity_precision", "entity_recall", "entity_f1", "token_accuracy" }) Assert.NotNull(metrics["tasks"]!["ner"]!["metrics"]![k]);
        Assert.NotNull(metrics["tasks"]!["chunk"]!["metrics"]!["entity_f1"]);

        var (ecode, eout) = MtkProcess.Run(dir, "evaluate", "--run", run, "--json");
        Assert.True(ecode == 0, eout);
        Assert.Equal(metrics["tasks"]!["ner"]!["metrics"]!["entity_f1"]!.GetValue<double>(),
            JsonNode.Parse(eout[eout.IndexOf('{')..])!["tasks"]!["ner"]!["metrics"]!["entity_f1"]!.GetValue<double>(), 6);
        var (fcode, fout) = MtkProcess.Run(dir, "evaluate", "--run", run, "--task", "ner", "--file", Path.Combine(dir, "test.conll"), "--json");
        Assert.True(fcode == 0, fout);
        var (pcode, pout) = MtkProcess.Run(dir, "predict", "--run", run, "--text", "Anna visited Paris .", "--json");
        Assert.True(pcode == 0, pout);
        var tags = JsonNode.Parse(pout.Split('\n').First(l => l.StartsWith('{')))!["predictions"]!["ner"]!["tags"]!.AsArray();
        Assert.Equal(["Anna", "visited", "Paris", "."], tags.Select(t => t![0]!.GetValue<string>()));
        // test_predictions.csv: one gold and one predicted tag per word of each of the 12 test sentences (4 or 7 words)
        var recorded = MultiTaskKit.Evaluation.TestPredictions.Read(run)["ner"];
        Assert.Equal("token_classification", recorded.Kind);
        Assert.Equal(12, recorded.Rows.Count);
        Assert.All(recorded.Rows, r => Assert.True(r.GoldIndices!.Count is 4 or 7 && r.PredictedIndices!.Count == r.GoldIndices.Count, $"row {r.Index}"));
        // ONNX: three tag outputs (pos and chunk branch after layer 1, ner at the top), per-token probabilities; mtk
        // predict --onnx prints the same word/TAG as the run, also where a sentence is cut by the 24-token budget
        var longSentence = string.Join(' ', Enumerable.Repeat("Anna visited Berlin and", 8)) + " Paris";
        ExportAndComparePredictions(dir, run, ["--text", "Anna visited Paris .", "--text", "The man in London saw Peter Smith", "--text", longSentence],
            ["Anna visited Paris .", "The man in London saw Peter Smith", longSentence]);
        var manifest = MultiTaskKit.Export.OnnxManifest.Load(Path.Combine(run, "export", "model.json"));
        Assert.All(manifest.Tasks, t => Assert.Equal(("words", "token_probabilities", "token_classification"), (t.Input, t.OutputKind, t.Kind)));
        Assert.Equal(["B-LOC", "B-PER", "I-PER", "O"], manifest.Tasks.Single(t => t.Name == "ner").Labels);
        Assert.Equal([1, 1, (int?)2], manifest.Tasks.Select(t => t.Depth));
        var (tcode, tout) = MtkProcess.Run(dir, "predict", "--onnx", Path.Combine(run, "export", "model.onnx"), "--text", "Anna visited Paris .");
        Assert.True(tcode == 0, tout);
        Assert.Contains("Anna/", tout);
        Assert.Contains("visited/", tout);
        // Hugging Face: the top-layer tagging task as a BertForTokenClassification folder; pos reads layer 1 and is refused
        var (xcode, xout) = MtkProcess.Run(dir, "export", "--run", run, "--format", "hf", "--tasks", "ner");
        Assert.True(xcode == 0, xout);
        Assert.Contains("(BertForTokenClassification)", xout);
        var hf = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "export", "hf", "ner", "config.json")))!;
        Assert.Equal(["B-LOC", "B-PER", "I-PER", "O"], hf["id2label"]!.AsObject().Select(kv => kv.Value!.GetValue<string>()));
        (xcode, xout) = MtkProcess.Run(dir, "export", "--run", run, "--format", "hf", "--tasks", "pos");
        Assert.True(xcode == 1, xout);
        Assert.Contains("hf export: task 'pos' reads trunk layer 1 of 2 (depth)", xout);
    }

    [Fact]
    public void SoftSharingRefusesTokenTasksAndDepthInOneLine()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-soft").FullName;
        File.WriteAllText(Path.Combine(dir, "train.conll"), ConllTrain + string.Concat(Enumerable.Range(0, 20).Select(_ => Sentence(new Random(1)))));
        File.WriteAllText(Path.Combine(dir, "run.json"), Config("soft", """{ "plan": "mmoe", "shared_layers": 1 }""", """, "shared_input": true""", """
            { "name": "ner", "dataset": "conll", "kind": "token_classification", "train": "train.conll", "columns": ["token", "pos", "chunk", "ner"],
              "text_column": "token", "label_column": "ner", "batch_size": 8, "max_tokens": 24 }
            """));
        var (code, output) = MtkProcess.Run(dir, "train", "--config", Path.Combine(dir, "run.json"), "--out", Path.Combine(dir, "out"));
        Assert.Equal(1, code);
        Assert.Contains("sharing.plan 'mmoe' does not support token tasks (task 'ner')", output);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains("does not support")));
    }
}
