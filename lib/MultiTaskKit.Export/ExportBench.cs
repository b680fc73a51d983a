using System.Diagnostics;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;
using static TorchSharp.torch;

namespace MultiTaskKit.Export;

/// <summary>Parity of one task's outputs between the kit and the exported graph over a test set.</summary>
/// <param name="MaxAbsDifference">Largest |kit − ONNX Runtime| over every output value.</param>
/// <param name="SameLabel">Rows whose arg-max label agrees (classification; regression: rows).</param>
/// <param name="KitMetric">Accuracy (classification) or mean absolute error (regression) of the kit's outputs.</param>
/// <param name="OnnxMetric">The same of the graph's outputs.</param>
public sealed record ExportParity(string Task, int Rows, double MaxAbsDifference, int SameLabel, double KitMetric, double OnnxMetric);

/// <summary>One engine's timings: median latency of one sentence and throughput at batch 32.</summary>
public sealed record ExportTiming(string Engine, double SingleMedianMs, double SingleP90Ms, double Batch32MedianMs, double SentencesPerSecond);

/// <summary>What <c>mtk bench export</c> measured.</summary>
public sealed record ExportBenchReport(string Run, string Onnx, int Threads, IReadOnlyList<ExportParity> Parity, IReadOnlyList<ExportTiming> Timings, string Note);

/// <summary>
/// Measures an export against its run, side by side in one process: (1) parity over the first <c>rows</c> test examples
/// of each task: the same token ids (the kit's tokenizer, each task's budget and truncation) through the kit's fp32
/// model and through ONNX Runtime, every output compared; (2) latency of one sentence and throughput at batch 32 (the
/// first task's encoding, every task's output) for ONNX Runtime, the kit in fp32 and the kit in bf16, interleaved round
/// by round so that machine noise falls on all three alike. bf16 on a CPU without native bf16 (AVX2 only) is emulated by
/// libtorch and says nothing about bf16 hardware.
/// </summary>
public static class ExportBench
{
    public static ExportBenchReport Run(string runDir, string onnxPath, DatasetSources sources, int rows, int threads, int rounds, Action<string> log)
    {
        using var onnx = OnnxPredictor.Load(onnxPath, threads);
        // the parity and timing loops encode one text per example and feed no segment ids
        if (onnx.Manifest.Tasks.FirstOrDefault(t => t.Input != "text") is { } other)
            throw new ExportRefusedException($"bench export: task '{other.Name}' reads {other.Input} input, and the bench measures single-text tasks; export the text tasks alone (mtk export --tasks) to bench them.");
        using var fp32 = RunPredictor.Load(runDir, Precision.Fp32);
        var parity = new List<ExportParity>();
        var texts = new Dictionary<string, List<TextExample>>();
        foreach (var info in onnx.Manifest.Tasks)
        {
            var cfg = fp32.Config.Tasks.First(t => t.Name == info.Name);
            var test = TaskData.Load(cfg, sources, fp32.Config.Seed).Test;
            var examples = test.Examples.Take(rows).ToList();
            texts[info.Name] = examples;
            log($"parity: {info.Name}, {examples.Count} test examples ({test.Source})");
            parity.Add(Parity(fp32, onnx, info, examples));
        }

        var first = onnx.Manifest.Tasks[0];
        var pool = texts[first.Name];
        var single = onnx.Encode(first, pool[0].Text);
        var batch = pool.Take(32).Select(e => onnx.Encode(first, e.Text)).ToList();
        while (batch.Count < 32) batch.Add(batch[batch.Count % Math.Max(1, pool.Count)]);
        using var bf16 = RunPredictor.Load(runDir, Precision.Bf16);
        var outputs = onnx.Manifest.Tasks.Select(t => t.Output).ToList();
        var engines = new (string Name, Action<IReadOnlyList<long[]>> Run)[]
        {
            ("onnxruntime fp32", r => onnx.Run(r, outputs)),
            ("kit fp32", r => KitForward(fp32.Model, r, onnx.Manifest.Tokenizer.PadId)),
            ("kit bf16", r => KitForward(bf16.Model, r, onnx.Manifest.Tokenizer.PadId)),
        };
        var singles = engines.ToDictionary(e => e.Name, _ => new List<double>());
        var batches = engines.ToDictionary(e => e.Name, _ => new List<double>());
        using (MixedPrecision.CastWeightsForInference(bf16.Model))
        {
            foreach (var e in engines) { e.Run([single]); e.Run(batch); }   // warm-up
            for (int round = 0; round < rounds; round++)
            {
                foreach (var e in engines)
                {
                    for (int k = 0; k < 5; k++) singles[e.Name].Add(Time(() => e.Run([single])));
                    batches[e.Name].Add(Time(() => e.Run(batch)));
                }
                log($"timing round {round + 1}/{rounds}");
            }
        }
        var timings = engines.Select(e =>
        {
            var s = singles[e.Name].Order().ToList();
            var b = batches[e.Name].Order().ToList();
            double median = b[b.Count / 2];
            return new ExportTiming(e.Name, s[s.Count / 2], s[(int)(s.Count * 0.9)], median, 32 / (median / 1000));
        }).ToList();
        var note = $"{Environment.ProcessorCount} cores; torch threads {TorchSharp.torch.get_num_threads()}, ONNX Runtime intra-op threads {threads}; " +
                   $"single sentence: {single.Length} tokens; batch 32: {batch.Max(r => r.Length)} tokens per row; bf16 {(PrecisionProbe.NativeBf16(TorchRuntime.DefaultDevice).Native ? "native" : "emulated (no native bf16 on this CPU)")}";
        return new ExportBenchReport(Path.GetFullPath(runDir), Path.GetFullPath(onnxPath), threads, parity, timings, note);
    }

    static double Time(Action a)
    {
        var sw = Stopwatch.StartNew();
        a();
        return sw.Elapsed.TotalMilliseconds;
    }

    /// <summary>The kit's forward on padded token rows, every task, outputs copied to the CPU (as a caller would read them).</summary>
    static void KitForward(MultiTaskNetwork model, IReadOnlyList<long[]> rows, long padId)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var output = model.forward(Input(rows, padId));
        foreach (var t in model.Tasks) output[t].to_type(ScalarType.Float32).cpu().data<float>().ToArray();
    }

    static TrunkInput Input(IReadOnlyList<long[]> rows, long padId)
    {
        int length = rows.Max(r => r.Length);
        var ids = new long[rows.Count * length];
        var mask = new long[rows.Count * length];
        Array.Fill(ids, padId);
        for (int r = 0; r < rows.Count; r++) { rows[r].CopyTo(ids, r * length); Array.Fill(mask, 1L, r * length, rows[r].Length); }
        return TrunkInput.FromTokens(tensor(ids, new long[] { rows.Count, length }).to(TorchRuntime.DefaultDevice), tensor(mask, new long[] { rows.Count, length }).to(TorchRuntime.DefaultDevice));
    }

    static ExportParity Parity(RunPredictor kit, OnnxPredictor onnx, OnnxTaskInfo info, IReadOnlyList<TextExample> examples)
    {
        double worst = 0, kitMetric = 0, onnxMetric = 0;
        int same = 0;
        bool classification = info.OutputKind == "probabilities";
        for (int start = 0; start < examples.Count; start += 32)
        {
            var chunk = examples.Skip(start).Take(32).ToList();
            var rows = chunk.Select(e => onnx.Encode(info, e.Text)).ToList();
            var graph = onnx.Run(rows, [info.Output])[info.Output];
            float[] flat;
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var y = kit.Model.forward(Input(rows, onnx.Manifest.Tokenizer.PadId))[info.Name];
                y = info.OutputKind switch { "probabilities" => nn.functional.softmax(y, -1), "label_probabilities" => sigmoid(y), _ => y };
                flat = y.to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
            }
            int width = flat.Length / chunk.Count;
            for (int i = 0; i < chunk.Count; i++)
            {
                var k = flat[(i * width)..((i + 1) * width)];
                var g = graph[i];
                for (int j = 0; j < width; j++) worst = Math.Max(worst, Math.Abs(k[j] - g[j]));
                if (classification)
                {
                    int ka = Array.IndexOf(k, k.Max()), ga = Array.IndexOf(g, g.Max());
                    if (ka == ga) same++;
                    if (ka == chunk[i].Label) kitMetric++;
                    if (ga == chunk[i].Label) onnxMetric++;
                }
                else
                {
                    same++;
                    kitMetric += Math.Abs(k[0] - chunk[i].Target);
                    onnxMetric += Math.Abs(g[0] - chunk[i].Target);
                }
            }
        }
        return new ExportParity(info.Name, examples.Count, worst, same, kitMetric / examples.Count, onnxMetric / examples.Count);
    }
}
