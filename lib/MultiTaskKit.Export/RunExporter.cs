using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using MultiTaskKit.IO;
using MultiTaskKit.Models;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Export;

/// <summary>What <see cref="RunExporter.ExportOnnx"/> wrote.</summary>
public sealed record RunOnnxExport(string OnnxPath, string ManifestPath, string VocabPath, OnnxManifest Manifest, int Nodes, long Parameters, long Bytes);

/// <summary>
/// Exports a run folder (written by <c>mtk train</c> or <c>mtk casestudy</c>): the model is rebuilt and loaded exactly as
/// <c>mtk predict</c> loads it (<see cref="RunPredictor"/>: config.json, the best else the latest weights), in float32.
/// <list type="bullet">
/// <item><see cref="ExportOnnx"/>: <c>model.onnx</c> (<see cref="OnnxExporter"/>), <c>model.vocab.txt</c> (the run's
/// vocabulary) and <c>model.json</c> (<see cref="OnnxManifest"/>), the side files named after the graph's file so that
/// an export never overwrites a file of another name.</item>
/// <item><see cref="ExportHuggingFace"/>: per task a <c>transformers</c> folder (<see cref="HuggingFaceExporter"/>).</item>
/// </list>
/// Every file is written atomically (a temporary sibling renamed into place).
/// </summary>
public static class RunExporter
{
    /// <summary>Where <c>mtk export --format onnx</c> writes without <c>--out</c>: <c>export/model.onnx</c> in the run folder.</summary>
    public static string DefaultOnnxPath(string runDir) => Path.Combine(Path.GetFullPath(runDir), "export", "model.onnx");

    /// <summary>Where <c>mtk export --format hf</c> writes without <c>--out</c>: <c>export/hf</c> in the run folder.</summary>
    public static string DefaultHfFolder(string runDir) => Path.Combine(Path.GetFullPath(runDir), "export", "hf");

    /// <summary>Checks an output file path before any work: not a folder, ends with <c>.onnx</c>.</summary>
    public static string CheckOnnxPath(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new IOException($"--out: expected the path of the .onnx file to write, found a folder '{full}'; name a file in it (e.g. {Path.Combine(full, "model.onnx")}).");
        if (!full.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"--out: expected a file name ending in .onnx (its model.json and model.vocab.txt are named after it), found '{full}'.");
        return full;
    }

    public static RunOnnxExport ExportOnnx(string runDir, string? outPath = null, IReadOnlyList<string>? tasks = null)
    {
        var onnxPath = CheckOnnxPath(outPath ?? DefaultOnnxPath(runDir));
        // float32 whatever the run trained in: the weights are float32 either way, and the graph is float32
        using var predictor = RunPredictor.Load(runDir, Runtime.Precision.Fp32);
        var model = predictor.Model;
        var described = ReadTasks(predictor.RunDir);
        var selected = tasks ?? predictor.Tasks;
        foreach (var t in selected)
            if (!predictor.Tasks.Contains(t))
                throw new ExportRefusedException($"--tasks: unknown task '{t}'; the run's tasks are {string.Join(", ", predictor.Tasks)}.");
        // the graph takes token_type_ids whenever a selected task reads pairs (text and word tasks feed zeros)
        bool pairs = selected.Any(t => predictor.InputOf(t) == "pair");
        var trainedPrecision = ReadTrainedPrecision(predictor.RunDir);
        var export = OnnxExporter.Export(model, new OnnxExportOptions(selected, TokenTypeIds: pairs),
            $"MultiTask Kit export of {predictor.RunDir} ({model.Architecture}); outputs: {string.Join(", ", selected)}",
            new Dictionary<string, string> { ["mtk.run"] = predictor.RunDir });

        var vocabPath = Path.ChangeExtension(onnxPath, ".vocab.txt");
        var tokenizer = Text.BertTokenizer.FromVocabFile(Path.Combine(predictor.RunDir, Trainer.VocabFile));
        var manifest = new OnnxManifest
        {
            Model = Path.GetFileName(onnxPath),
            Architecture = model.Architecture,
            Opset = OnnxGraphBuilder.Opset,
            Inputs = pairs ? [OnnxExporter.InputIds, OnnxExporter.AttentionMask, OnnxExporter.TokenTypeIds] : [OnnxExporter.InputIds, OnnxExporter.AttentionMask],
            TrainedPrecision = trainedPrecision,
            Tokenizer = new OnnxTokenizerInfo(Path.GetFileName(vocabPath), tokenizer.Lowercase, tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.UnkId),
            Tasks = export.Outputs.Select(o =>
            {
                var cfg = predictor.Config.Tasks.First(c => c.Name == o.Task);
                var sig = predictor.Signature(o.Task);
                return new OnnxTaskInfo(o.Task, sig.Kind.Name, o.Output, OutputKindName(o.Kind), sig.LabelNames.ToList(),
                    cfg.MaxTokens, JsonNamingPolicy.SnakeCaseLower.ConvertName(cfg.Truncation.ToString()),
                    described[o.Task]?["normalizer"]?.GetValue<string>() ?? "none", predictor.InputOf(o.Task),
                    o.Kind == OnnxOutputKind.LabelProbabilities ? sig.Threshold : null, cfg.Depth);
            }).ToList(),
        };
        var bytes = export.Model.ToByteArray();
        AtomicFile.WriteAllBytes(onnxPath, bytes);
        AtomicFile.WriteAllBytes(vocabPath, File.ReadAllBytes(Path.Combine(predictor.RunDir, Trainer.VocabFile)));
        var manifestPath = OnnxManifest.PathFor(onnxPath);
        AtomicFile.WriteAllText(manifestPath, JsonSerializer.Serialize(manifest, OnnxManifest.Json));
        return new RunOnnxExport(onnxPath, manifestPath, vocabPath, manifest, export.Nodes, export.Parameters, bytes.LongLength);
    }

    public static string OutputKindName(OnnxOutputKind kind) => JsonNamingPolicy.SnakeCaseLower.ConvertName(kind.ToString());

    internal static JsonObject ReadTasks(string runDir)
    {
        var path = Path.Combine(runDir, Trainer.TasksFile);
        try { return JsonNode.Parse(File.ReadAllText(path))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: expected the run's task descriptions (JSON object), found unreadable content ({e.Message}).", e);
        }
    }

    static string? ReadTrainedPrecision(string runDir)
    {
        try { return JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, Trainer.ConfigFile)))?["runtime"]?["precision"]?.GetValue<string>(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or IOException) { return null; }
    }

    /// <summary>Per task a Hugging Face folder under <paramref name="outDir"/> (default <c>export/hf</c> in the run folder).</summary>
    public static IReadOnlyList<string> ExportHuggingFace(string runDir, string? outDir = null, IReadOnlyList<string>? tasks = null)
    {
        var folder = Path.GetFullPath(outDir ?? DefaultHfFolder(runDir));
        if (File.Exists(folder)) throw new IOException($"--out: expected a folder for the Hugging Face export, found a file '{folder}'.");
        using var predictor = RunPredictor.Load(runDir, Runtime.Precision.Fp32);
        var selected = tasks ?? predictor.Tasks;
        foreach (var t in selected)
            if (!predictor.Tasks.Contains(t))
                throw new ExportRefusedException($"--tasks: unknown task '{t}'; the run's tasks are {string.Join(", ", predictor.Tasks)}.");
        var vocab = Path.Combine(predictor.RunDir, Trainer.VocabFile);
        // refuse before writing anything: either every task exports or none does
        foreach (var t in selected) HuggingFaceExporter.CheckExportable(predictor.Model, t);
        return selected.Select(t =>
        {
            var path = Path.Combine(folder, t);
            HuggingFaceExporter.Write(predictor.Model, t, predictor.Signature(t).LabelNames, predictor.Config.Tasks.First(c => c.Name == t).MaxTokens, vocab, path);
            return path;
        }).ToList();
    }
}
