using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Text;
using static TorchSharp.torch;

namespace MultiTaskKit.Benchmarks;

/// <summary>One throughput figure: what was measured, its rate and the settings.</summary>
/// <remarks>
/// <paramref name="CpuSecondsPerRepeat"/> is the process's CPU time for the best repeat: on a machine shared with other
/// work it moves less than wall time, so it helps to compare two runtimes measured side by side.
/// </remarks>
public sealed record ThroughputMeasurement(string Name, double PerSecond, string Unit, int Repeats, double SecondsPerRepeat, double CpuSecondsPerRepeat = double.NaN)
{
    public override string ToString() =>
        $"{Name}: {PerSecond:N0} {Unit} ({SecondsPerRepeat * 1000:N1} ms per batch wall, {CpuSecondsPerRepeat * 1000:N0} ms CPU, best of {Repeats})";
}

/// <summary>
/// Measurements of the BERT trunk that <c>mtk bench</c> and the benchmark tests share. Every method measures the kit
/// and its reference side by side in one call, because timings on a shared machine move by tens of percent between runs.
/// </summary>
public static class BertBenchmarks
{
    /// <summary>
    /// Encoder inference in sentences/s on random token ids of <paramref name="tokens"/> tokens, batch
    /// <paramref name="batch"/>, with <paramref name="threads"/> intra-op threads: the kit's MiniLM (no_grad, eval) and
    /// ONNX Runtime on the packaged model.onnx, interleaved, best of <paramref name="repeats"/> each.
    /// Both compute last_hidden_state and the pooler output; the kit also computes mean pooling.
    /// </summary>
    public static (ThroughputMeasurement Kit, ThroughputMeasurement OnnxRuntime) EncoderInference(
        BertModel model, int tokens = 128, int batch = 32, int threads = 2, int repeats = 5, int seed = 1)
    {
        var (kit, ort) = EncoderInference(model, [Precision.Fp32], tokens, batch, threads, repeats, seed);
        return (kit[0], ort);
    }

    /// <summary>
    /// <see cref="EncoderInference(BertModel, int, int, int, int, int)"/> with the kit in each of <paramref name="precisions"/>
    /// (fp32, bf16: mixed, see <see cref="MixedPrecision"/>), all interleaved with ONNX Runtime (fp32) round by round.
    /// The model's own precision is restored afterwards.
    /// </summary>
    public static (IReadOnlyList<ThroughputMeasurement> Kit, ThroughputMeasurement OnnxRuntime) EncoderInference(
        BertModel model, IReadOnlyList<Precision> precisions, int tokens = 128, int batch = 32, int threads = 2, int repeats = 5, int seed = 1)
    {
        int before = TorchRuntime.Threads;
        TorchRuntime.SetThreads(threads);
        try
        {
            var rng = new Random(seed);
            var ids = new long[batch * tokens];
            for (int i = 0; i < ids.Length; i++) ids[i] = i % tokens == 0 ? 101 : i % tokens == tokens - 1 ? 102 : rng.Next(1000, model.Config.VocabSize);
            var mask = Enumerable.Repeat(1L, ids.Length).ToArray();

            using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
            options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL;
            byte[] onnx;
            using (var s = EmbeddedMiniLm.OpenOnnx()) { onnx = new byte[s.Length]; s.ReadExactly(onnx); }
            using var session = new InferenceSession(onnx, options);
            var dims = new[] { batch, tokens };
            var inputs = new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, dims)),
                NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, dims)),
                NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[ids.Length], dims)),
            };
            using var idT = tensor(ids, new long[] { batch, tokens });
            using var maskT = tensor(mask, new long[] { batch, tokens });
            bool wasTraining = model.training;
            var wasPrecision = MixedPrecision.Of(model);
            model.eval();
            // Inference as the kit's evaluation and predict do it: a bf16 model's weights cast once, not per batch (ONNX
            // Runtime, too, prepares its weights once, when the session is built).
            var casts = new Dictionary<Precision, IDisposable>();
            void Kit(Precision precision)
            {
                MixedPrecision.Apply(model, precision);
                if (!casts.ContainsKey(precision)) casts[precision] = MixedPrecision.CastWeightsForInference(model);
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                model.forward(idT, maskT);
            }
            void Ort() { using var r = session.Run(inputs); }
            try
            {
                foreach (var p in precisions) Kit(p); // warm-up: allocators, kernel selection
                Ort();
                var bestKit = precisions.Select(_ => (Wall: double.MaxValue, Cpu: double.MaxValue)).ToArray();
                (double Wall, double Cpu) bestOrt = (double.MaxValue, double.MaxValue);
                for (int r = 0; r < repeats; r++)
                {
                    for (int i = 0; i < precisions.Count; i++)
                    {
                        var p = precisions[i];
                        bestKit[i] = Best(bestKit[i], StepTimer.Measure(() => Kit(p), 1, warmup: 0));
                    }
                    bestOrt = Best(bestOrt, StepTimer.Measure(Ort, 1, warmup: 0));
                }
                var kit = precisions.Select((p, i) => new ThroughputMeasurement(
                    $"kit encoder{(p == Precision.Fp32 ? "" : " " + p.Name())} ({tokens} tokens, batch {batch}, {threads} threads)",
                    batch / bestKit[i].Wall, "sentences/s", repeats, bestKit[i].Wall, bestKit[i].Cpu)).ToList();
                return (kit, new ThroughputMeasurement($"ONNX Runtime ({tokens} tokens, batch {batch}, {threads} threads)", batch / bestOrt.Wall, "sentences/s", repeats, bestOrt.Wall, bestOrt.Cpu));
            }
            finally
            {
                foreach (var c in casts.Values) c.Dispose();
                model.train(wasTraining);
                MixedPrecision.Apply(model, wasPrecision);
            }
        }
        finally { TorchRuntime.SetThreads(before); }
    }

    /// <summary>
    /// One training step (forward in training mode, backward, AdamW) on random ids [<paramref name="batch"/>,
    /// <paramref name="tokens"/>], for the kit's BERT built from <paramref name="config"/> and for the naive baseline of
    /// the same shape built from TorchSharp's <c>nn.TransformerEncoder</c> (post-norm, GELU, dropout as the config),
    /// interleaved; best of <paramref name="repeats"/> in tokens/s.
    /// </summary>
    public static (ThroughputMeasurement Kit, ThroughputMeasurement Naive) TrainingStep(
        BertConfig config, int batch = 16, int tokens = 128, int threads = 2, int repeats = 3, int seed = 1)
    {
        int before = TorchRuntime.Threads;
        TorchRuntime.SetThreads(threads);
        try
        {
            manual_seed(seed);
            using var kit = new BertModel(config);
            kit.train();
            using var embed = nn.Embedding(config.VocabSize, config.HiddenSize);
            using var layer = nn.TransformerEncoderLayer(config.HiddenSize, config.NumAttentionHeads, config.IntermediateSize,
                config.HiddenDropoutProb, nn.Activations.GELU);
            using var naive = nn.TransformerEncoder(layer, config.NumHiddenLayers);
            naive.train();
            var kitOptimizer = optim.AdamW(kit.parameters(), 1e-5);
            var naiveOptimizer = optim.AdamW(naive.parameters().Concat(embed.parameters()), 1e-5);
            using var ids = randint(1000, config.VocabSize, new long[] { batch, tokens }, dtype: ScalarType.Int64);
            using var mask = ones(new long[] { batch, tokens }, dtype: ScalarType.Int64);
            using var padding = zeros(new long[] { batch, tokens }, dtype: ScalarType.Bool);

            void KitStep()
            {
                using var scope = NewDisposeScope();
                kitOptimizer.zero_grad();
                kit.forward(ids, mask).MeanPooled.pow(2).mean().backward();
                kitOptimizer.step();
            }
            void NaiveStep()
            {
                using var scope = NewDisposeScope();
                naiveOptimizer.zero_grad();
                // TorchSharp's TransformerEncoder reads [tokens, batch, hidden].
                var x = embed.forward(ids).transpose(0, 1);
                naive.forward(x, null!, padding).mean(new long[] { 0 }).pow(2).mean().backward();
                naiveOptimizer.step();
            }
            KitStep(); NaiveStep();
            (double Wall, double Cpu) bestKit = (double.MaxValue, double.MaxValue), bestNaive = bestKit;
            for (int r = 0; r < repeats; r++)
            {
                bestKit = Best(bestKit, StepTimer.Measure(KitStep, 1, warmup: 0));
                bestNaive = Best(bestNaive, StepTimer.Measure(NaiveStep, 1, warmup: 0));
            }
            double n = batch * tokens;
            return (new ThroughputMeasurement($"kit BERT training step ({batch}×{tokens}, {threads} threads)", n / bestKit.Wall, "tokens/s", repeats, bestKit.Wall, bestKit.Cpu),
                    new ThroughputMeasurement($"naive nn.TransformerEncoder step ({batch}×{tokens}, {threads} threads)", n / bestNaive.Wall, "tokens/s", repeats, bestNaive.Wall, bestNaive.Cpu));
        }
        finally { TorchRuntime.SetThreads(before); }
    }

    /// <summary>Tokenizer throughput in tokens/s over <paramref name="texts"/> (full encoding, no truncation), best of <paramref name="repeats"/>.</summary>
    public static ThroughputMeasurement Tokenizer(BertTokenizer tokenizer, IReadOnlyList<string> texts, int repeats = 3)
    {
        long count = 0;
        foreach (var t in texts) count += tokenizer.Encode(t).Length;
        // Tiered JIT: a few passes first, so the measured ones run optimised code.
        for (int w = 0; w < 5; w++) foreach (var t in texts) tokenizer.Encode(t);
        (double Wall, double Cpu) best = (double.MaxValue, double.MaxValue);
        for (int r = 0; r < repeats; r++)
            best = Best(best, StepTimer.Measure(() => { foreach (var t in texts) tokenizer.Encode(t); }, 1, warmup: 0));
        return new ThroughputMeasurement($"tokenizer ({texts.Count} texts, {count} tokens, 1 thread)", count / best.Wall, "tokens/s", repeats, best.Wall, best.Cpu);
    }

    /// <summary>The better wall and CPU time of <paramref name="a"/> and one timed run.</summary>
    static (double Wall, double Cpu) Best((double Wall, double Cpu) a, Timing run) => (Math.Min(a.Wall, run.Min), Math.Min(a.Cpu, run.CpuMedian));
}
