using System.Diagnostics;
using MultiTaskKit.Data;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Weighting;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Benchmarks;

/// <summary>
/// Wires the kit's own parts (BERT trunk, multi-task model, tokenizer, weighting methods) into the bench runner,
/// reusing the measuring code their owners wrote (<see cref="BertBenchmarks"/>, <see cref="MethodCatalog"/>).
/// </summary>
public static class KitBench
{
    public static KitParts Parts(string? dataDir = null) => new()
    {
        TrainingStep = (shape, tasks, kernels) => new KitTrainingStep(shape, tasks, kernels: kernels),
        Inference = Inference,
        Tokenizer = o => Tokenizer(o, dataDir),
        Methods = Methods,
    };

    /// <summary>
    /// The embedded all-MiniLM-L6-v2 in the kit (fp32, and bf16 where <see cref="BenchOptions.Bf16"/>) against ONNX
    /// Runtime (fp32) on the packaged model.onnx, 128 tokens, batch 32.
    /// </summary>
    public static IReadOnlyList<ThroughputResult> Inference(BenchOptions o)
    {
        using var pre = PretrainedBert.Load("minilm");
        Precision[] precisions = o.Bf16 ? [Precision.Fp32, Precision.Bf16] : [Precision.Fp32];
        var (kit, ort) = BertBenchmarks.EncoderInference(pre.Model, precisions, tokens: 128, batch: 32, threads: TorchRuntime.Threads, repeats: Math.Max(3, o.Steps));
        return
        [
            .. kit.Select((k, i) => new ThroughputResult("encoder inference", InferenceRow(precisions[i]), k.PerSecond, k.Unit,
                $"{k.SecondsPerRepeat * 1000:F0} ms per batch of 32×128, best of {k.Repeats}")),
            new("encoder inference", "onnxruntime", ort.PerSecond, ort.Unit, $"fp32, {ort.SecondsPerRepeat * 1000:F0} ms per batch, best of {ort.Repeats}"),
        ];
    }

    /// <summary>The implementation name of the kit's inference row in <paramref name="precision"/>: <c>kit</c>, <c>kit bf16</c>.</summary>
    public static string InferenceRow(Precision precision) => precision == Precision.Fp32 ? "kit" : $"kit {precision.Name()}";

    /// <summary>The kit's WordPiece tokenizer on real text: the VADER tweets and the first 2,000 IMDB test reviews.</summary>
    public static IReadOnlyList<ThroughputResult> Tokenizer(BenchOptions o, string? dataDir)
    {
        var dir = KitPaths.FindDataDir(dataDir)
            ?? throw new DirectoryNotFoundException("no data folder (set MTK_DATA_DIR or --data-dir); the tokenizer is measured on real text only");
        var sources = new DatasetSources { DataDir = dir };
        var texts = VaderReader.Read(sources.VaderPath()).Examples.Select(e => e.Text).ToList();
        int tweets = texts.Count;
        texts.AddRange(ImdbReader.Read(sources.ImdbPath()).Test.Examples.Take(2000).Select(e => e.Text));
        using var pre = PretrainedBert.Load("minilm");
        var r = BertBenchmarks.Tokenizer(pre.Tokenizer, texts, repeats: 3);
        return [new("tokenizer", "kit (FastBertTokenizer WordPiece)", r.PerSecond, r.Unit, $"{tweets} tweets + {texts.Count - tweets} IMDB reviews, best of {r.Repeats}")];
    }

    /// <summary>
    /// Every method of <see cref="MethodCatalog"/> on the case-study model (MiniLM split at layer k, two tasks), time per
    /// step against equal weighting. Smaller batches than the headline step (<see cref="BenchOptions.MethodBatches"/>),
    /// because every method must fit in minutes; the ratio is what is compared. Methods run in groups of
    /// <see cref="BenchOptions.MethodGroupSize"/>, each with its own equal-weighting step, interleaved over rounds, so a
    /// burst of load elsewhere hits a method and the step it is divided by alike; each figure is the median of all its
    /// steps (equal weighting's over all groups). Rep-grad methods read one shared batch (their mode needs it), so every
    /// method reads the same batch for both tasks here.
    /// </summary>
    public static IReadOnlyList<MethodOverhead> Methods(BenchOptions o)
    {
        var tasks = o.MethodBatches;
        var names = o.MethodNames is null ? MethodCatalog.NamesFor(tasks.Count) : o.MethodNames.Prepend("ew").Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var others = names.Where(n => !n.Equals("ew", StringComparison.OrdinalIgnoreCase)).ToList();
        int perGroup = Math.Max(1, o.MethodGroupSize - 1);
        var equalTimes = new List<double>();
        var rows = new List<(string Name, bool Aggregation, double Median, double Ratio)>();
        for (int start = 0; start == 0 || start < others.Count; start += perGroup)
        {
            var group = others.Skip(start).Take(perGroup).Prepend("ew").ToList();
            var steps = new Dictionary<string, KitTrainingStep>();
            try
            {
                foreach (var name in group)
                {
                    var taskNames = KitTrainingStep.TaskNames.Take(tasks.Count).ToArray();
                    var spec = MethodCatalog.Create(name, taskNames);
                    steps[name] = new KitTrainingStep(o.Shape, tasks, seed: 0, weighting: _ => spec.Weighting, aggregator: spec.Aggregator,
                        name: $"kit step, {spec}", mode: spec.Mode, sameBatch: true);
                    steps[name].Step(); // warm-up: optimiser state, first-call costs
                }
                var times = group.ToDictionary(n => n, _ => new List<double>());
                for (int round = 0; round < o.MethodRounds; round++)
                    foreach (var name in group)
                        times[name].AddRange(StepTimer.Measure(steps[name].Step, o.MethodSteps, warmup: 0).Seconds);
                equalTimes.AddRange(times["ew"]);
                double equal = new Timing(times["ew"]).Median;
                foreach (var name in group.Skip(1))
                {
                    double median = new Timing(times[name]).Median;
                    rows.Add((name, steps[name].Aggregator is not null || steps[name].Weighting.NeedsTaskGradients, median, median / equal));
                }
            }
            finally
            {
                foreach (var s in steps.Values) s.Dispose();
            }
        }
        rows.Insert(0, ("ew", false, new Timing(equalTimes).Median, 1.0));
        return rows.Select(r =>
        {
            double limit = r.Aggregation ? tasks.Count + 0.5 : 1.1;
            return new MethodOverhead(r.Name, r.Aggregation ? "per-task gradients" : "weighting only", r.Median, r.Ratio, limit, r.Ratio <= limit);
        }).ToList();
    }
}
