using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Steps;

/// <summary>
/// The step engine: from per-task losses to the final gradients in <c>.grad</c> of every parameter, composing a loss
/// weighting with an optional gradient aggregator. The caller then calls <c>optimizer.step()</c> (unless
/// <see cref="StepDiagnostics.Skipped"/>).
/// <code>
/// var output = model.forward(input);                       // or model.Forward(perTaskInputs)
/// var losses = model.Losses(output, targets);
/// var diag = MultiTaskStep.Backward(model, losses, weighting, aggregator, new StepOptions { Step = step, History = history });
/// if (!diag.Skipped) optimizer.step();
/// history.Record(diag);
/// </code>
/// <para>Cost. Weighting-only (no aggregator, no gradient-reading weighting, no per-task clipping):
/// one backward of Σ wᵢℓᵢ. Otherwise one backward per task, each row of the [T × P] gradient matrix captured on the
/// device; the Gramian G·Gᵀ (T×T) is the only thing read back to the host, and serves the aggregator and the
/// diagnostics alike. In rep-grad mode the per-task backwards stop at the shared representation and one more backward
/// carries the combined gradient through the shared part.</para>
/// <para>Gradients written: shared parameters get the aggregated update (or Σ wᵢgᵢ); each task's own parameters get
/// Σ wᵢ·∇ℓᵢ, which is wᵢ·∇ℓᵢ where only task i's loss reaches them (aggregation never touches them); learnable strategy state gets its own gradient (for the optimiser).</para>
/// </summary>
public static class MultiTaskStep
{
    public static StepDiagnostics Backward(
        MultiTaskNetwork model,
        IReadOnlyDictionary<string, Tensor> taskLosses,
        ILossWeighting weighting,
        IGradientAggregator? aggregator = null,
        StepOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(taskLosses);
        ArgumentNullException.ThrowIfNull(weighting);
        options ??= new StepOptions();

        var unknown = taskLosses.Keys.Where(k => !model.Tasks.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"step {options.Step}: loss for unknown task(s) {string.Join(", ", unknown)}; the model's tasks are {string.Join(", ", model.Tasks)}", nameof(taskLosses));
        var present = model.Tasks.Where(taskLosses.ContainsKey).ToArray();
        var missing = model.Tasks.Where(t => !taskLosses.ContainsKey(t)).ToArray();
        if (present.Length == 0) throw new ArgumentException($"step {options.Step}: expected a loss for at least one task, found none", nameof(taskLosses));
        if (missing.Length > 0 && options.OnMissingTask == MissingTaskPolicy.Throw)
            throw new ArgumentException($"step {options.Step}: task(s) {string.Join(", ", missing)} have no loss this step (OnMissingTask = Throw)", nameof(taskLosses));
        foreach (var t in present)
            if (taskLosses[t].numel() != 1)
                throw new ArgumentException($"step {options.Step}: the loss of task '{t}' must be a scalar, found shape [{string.Join(", ", taskLosses[t].shape)}]", nameof(taskLosses));

        bool repGrad = options.Gradients == GradientMode.Representation;
        if (repGrad && !model.HasSharedRepresentation)
            throw new ArgumentException($"rep-grad: the {model.Architecture} architecture has no single shared representation; use parameter gradients (e.g. mgda instead of mgda-ub)", nameof(options));
        if (repGrad && options.Representation is null)
            throw new ArgumentException("rep-grad: StepOptions.Representation is null; run model.Forward(input, representationGradients: true) and pass output.Representation", nameof(options));
        if (repGrad && aggregator is { SupportsRepresentationGradients: false })
            throw new ArgumentException($"rep-grad: {aggregator.Name} does not support gradients with respect to the representation", nameof(aggregator));

        using var scope = NewDisposeScope();
        // with accumulation every trainable tensor keeps what earlier micro-batches left, strategy state included
        var trainable = options.AccumulateGradients ? Trainable(model, weighting, aggregator) : new List<Tensor>();
        var saved = options.AccumulateGradients ? trainable.Select(p => p.grad?.clone()).ToList() : null;
        model.zero_grad();
        if (weighting is nn.Module wm) wm.zero_grad();
        if (aggregator is nn.Module am) am.zero_grad();

        var stacked = stack(present.Select(t => taskLosses[t].reshape(Array.Empty<long>())).ToArray());
        var raw = stacked.detach().to_type(ScalarType.Float64).cpu().data<double>().ToArray();
        var lossMap = present.Select((t, i) => (t, raw[i])).ToDictionary(x => x.t, x => x.Item2);
        for (int i = 0; i < present.Length; i++)
        {
            if (double.IsFinite(raw[i])) continue;
            if (options.OnNonFiniteLoss == NonFiniteLossPolicy.Throw) throw new NonFiniteLossException(present[i], options.Step, raw[i]);
            Restore(trainable, saved);
            return new StepDiagnostics
            {
                Step = options.Step, Tasks = present, MissingTasks = missing, Losses = lossMap, Mode = options.Gradients,
                Skipped = true, SkipReason = $"the loss of task '{present[i]}' is {raw[i]}",
            };
        }

        var context = new StepContext(options.Step, options.Epoch, options.History);
        var losses = weighting.TransformLosses(stacked, present);
        if (losses.dim() != 1 || losses.shape[0] != present.Length)
            throw new InvalidOperationException($"{weighting.Name}: TransformLosses must keep shape [{present.Length}], found [{string.Join(", ", losses.shape)}]");

        bool perTask = aggregator is not null || weighting.NeedsTaskGradients || options.MaxTaskGradNorm is not null
                       || repGrad || options.TaskGradientDiagnostics;
        StepDiagnostics diagnostics = perTask
            ? PerTaskBackward(model, present, missing, losses, raw, lossMap, weighting, aggregator, options, context)
            : SingleBackward(model, present, missing, losses, raw, lossMap, weighting, options, context);
        if (diagnostics.Skipped)
        {
            // a non-finite gradient under SkipStep: nothing of this micro-batch stays behind
            model.zero_grad();
            if (weighting is nn.Module wz) wz.zero_grad();
            if (aggregator is nn.Module az) az.zero_grad();
            Restore(trainable, saved);
            return diagnostics;
        }

        double? norm = null;
        if (options.MaxGradNorm is { } max)
        {
            if (!(max > 0)) throw new ArgumentOutOfRangeException(nameof(options), max, "MaxGradNorm: expected a positive norm");
            norm = ClipGradNorm(model, max);
        }
        Restore(trainable, saved);
        return diagnostics with { GradientNorm = norm };
    }

    /// <summary>Clips the gradient of all model parameters (not strategy state) to a global L2 norm; returns the norm before clipping.</summary>
    public static double ClipGradNorm(MultiTaskNetwork model, double maxNorm)
    {
        var ps = model.ModelParameters().Where(p => p.requires_grad).ToList();
        return nn.utils.clip_grad_norm_(ps, maxNorm);
    }

    static List<Tensor> Trainable(MultiTaskNetwork model, ILossWeighting weighting, IGradientAggregator? aggregator)
    {
        var all = model.parameters().AsEnumerable();
        if (weighting is nn.Module w) all = all.Concat(w.parameters());
        if (aggregator is nn.Module a) all = all.Concat(a.parameters());
        return all.Where(p => p.requires_grad).Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().ToList();
    }

    static void Restore(List<Tensor> parameters, List<Tensor?>? saved)
    {
        if (saved is null) return;
        using var _ = no_grad();
        for (int i = 0; i < parameters.Count; i++)
        {
            if (saved[i] is not { } old) continue;
            using var g = parameters[i].grad;
            if (g is null) parameters[i].grad = old.clone();
            else g.add_(old);
        }
    }

    /// <summary>
    /// A finite loss can still have a non-finite gradient (a square root or log at 0). The aggregators refuse such a
    /// matrix; the weighting-only path checks here, after its one backward, and names the task whose own parameters
    /// (its head) got the non-finite values, else every task as the shared parameters got them.
    /// </summary>
    static StepDiagnostics? CheckFiniteGradients(MultiTaskNetwork model, string[] present, string[] missing, Dictionary<string, double> lossMap, StepOptions options)
    {
        using var scope = NewDisposeScope();
        var grads = model.ModelParameters().Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0 || stack(grads.Select(g => g.sum().to_type(ScalarType.Float64)).ToArray()).sum().isfinite().item<bool>()) return null;
        string? task = OwnNonFinite(model, present);
        return NonFiniteGradient(task ?? string.Join("', '", present), task is null ? "in the shared parameters" : "in its own parameters",
            present, missing, lossMap, options);
    }

    /// <summary>The first task whose own parameters hold a non-finite gradient, or null.</summary>
    static string? OwnNonFinite(MultiTaskNetwork model, string[] present)
    {
        using var scope = NewDisposeScope();
        return present.FirstOrDefault(t => model.TaskParameters(t).Any(p => p.grad is { } g && !g.isfinite().all().item<bool>()));
    }

    static StepDiagnostics NonFiniteGradient(string task, string where, string[] present, string[] missing, Dictionary<string, double> lossMap, StepOptions options)
    {
        if (options.OnNonFiniteLoss == NonFiniteLossPolicy.Throw) throw new NonFiniteGradientException(task, options.Step, where);
        return new StepDiagnostics
        {
            Step = options.Step, Tasks = present, MissingTasks = missing, Losses = lossMap, Mode = options.Gradients,
            Skipped = true, SkipReason = $"the gradient of task '{task}' is not finite ({where})",
        };
    }

    static StepDiagnostics SingleBackward(MultiTaskNetwork model, string[] present, string[] missing, Tensor losses, double[] raw,
        Dictionary<string, double> lossMap, ILossWeighting weighting, StepOptions options, StepContext context)
    {
        var result = weighting.Weigh(new WeightingInput(present, losses, raw, context));
        var w = CheckWeights(result.Weights, present, weighting.Name, options.Step);
        var total = (result.Weights * losses).sum();
        if (result.ExtraLoss is { } extra) total = total.add(extra, Scalars.One);
        total.backward();
        if (CheckFiniteGradients(model, present, missing, lossMap, options) is { } skipped) return skipped;
        return new StepDiagnostics
        {
            Step = options.Step, Tasks = present, MissingTasks = missing, Losses = lossMap,
            Weights = Map(present, w), BackwardPasses = 1, Mode = options.Gradients,
        };
    }

    static StepDiagnostics PerTaskBackward(MultiTaskNetwork model, string[] present, string[] missing, Tensor losses,
        double[] raw, Dictionary<string, double> lossMap, ILossWeighting weighting, IGradientAggregator? aggregator,
        StepOptions options, StepContext context)
    {
        int t = present.Length;
        bool repGrad = options.Gradients == GradientMode.Representation;
        var representation = options.Representation;
        List<Tensor> shared = repGrad ? new() : model.SharedParameters().Where(p => p.requires_grad).ToList<Tensor>();
        long size = repGrad ? representation!.Shared.numel() : GradientMatrix.Size(shared);
        var dtype = repGrad ? representation!.Shared.dtype : shared.FirstOrDefault()?.dtype ?? losses.dtype;
        var device = losses.device;
        var matrix = zeros(new long[] { t, size }, dtype: dtype, device: device);

        WeightingResult? result = null;
        double[]? w = null;
        if (!weighting.NeedsTaskGradients)
        {
            result = weighting.Weigh(new WeightingInput(present, losses, raw, context));
            w = CheckWeights(result.Weights, present, weighting.Name, options.Step);
        }

        // When the weights come only after the per-task backwards and other tasks' losses reach a task's parameters
        // (cross-stitch), those parameters' gradients are kept per task, so that each can be weighted by its own task.
        List<Tensor>? own = null;
        Tensor? ownRows = null;
        if (result is null && !model.TaskParametersAreExclusive)
        {
            own = model.Tasks.SelectMany(model.TaskParameters).Where(p => p.requires_grad).ToList<Tensor>();
            ownRows = zeros(new long[] { t, GradientMatrix.Size(own) }, dtype: own.FirstOrDefault()?.dtype ?? losses.dtype, device: device);
        }

        for (int i = 0; i < t; i++)
        {
            var li = result is null ? losses[i] : result.Weights[i] * losses[i];
            li.backward(retain_graph: i < t - 1 || result?.Weights.requires_grad == true);
            using var row = matrix[i];
            if (!repGrad) GradientMatrix.CaptureAndZero(row, shared);
            else if (representation!.TaskLeaves.TryGetValue(present[i], out var leaf) && leaf.grad is { } g)
            {
                using (no_grad()) row.copy_(g.reshape(-1));
            }
            if (ownRows is not null)
                using (var ownRow = ownRows[i]) GradientMatrix.CaptureAndZero(ownRow, own!);
        }
        int passes = t;
        using (var finite = matrix.isfinite().all(1))
        {
            var rowsFinite = finite.cpu().data<bool>().ToArray();
            if (rowsFinite.Any(f => !f))
            {
                // Every row can be hit: autograd sends a zero into the other tasks' branches of the stacked losses, and
                // 0 · ∞ is NaN there too. The task whose own parameters (its head) got non-finite values is the source.
                var source = OwnNonFinite(model, present) ?? present[Array.IndexOf(rowsFinite, false)];
                return NonFiniteGradient(source, "in the shared parameters", present, missing, lossMap, options);
            }
        }

        if (weighting.NeedsTaskGradients)
        {
            result = weighting.Weigh(new WeightingInput(present, losses, raw, context, matrix));
            w = CheckWeights(result.Weights, present, weighting.Name, options.Step);
            if (result.TaskGradients is { } replaced)
            {
                if (!replaced.shape.SequenceEqual(matrix.shape))
                    throw new InvalidOperationException($"{weighting.Name}: replacement gradient matrix has shape [{string.Join(", ", replaced.shape)}], expected [{string.Join(", ", matrix.shape)}]");
                matrix = replaced.detach();
            }
            using var column = tensor(w, device: device).to_type(dtype).unsqueeze(1);
            matrix = matrix * column;
            if (ownRows is not null)
            {
                using var ownWeights = result.ScaleTaskParameters ? tensor(w, device: device).to_type(ownRows.dtype) : ones(t, dtype: ownRows.dtype, device: device);
                using var combined = ownWeights.matmul(ownRows);
                long offset = 0;
                using (no_grad())
                    foreach (var p in own!)
                    {
                        // parameters no loss reached (an absent task's head) keep no gradient, as on the exclusive path
                        using (var g = p.grad) if (g is not null) { using var slice = combined.narrow(0, offset, p.numel()); g.copy_(slice.view(p.shape)); }
                        offset += p.numel();
                    }
            }
            else if (result.ScaleTaskParameters)
                using (no_grad())
                    for (int i = 0; i < t; i++)
                        foreach (var p in model.TaskParameters(present[i]))
                            if (p.grad is { } g) g.mul_(w[i]);
        }

        var gramian = GradientMatrix.Gramian(matrix);
        var norms = GradientMatrix.Norms(gramian);
        var clipped = new List<string>();
        if (options.MaxTaskGradNorm is { } maxTask)
        {
            if (!(maxTask > 0)) throw new ArgumentOutOfRangeException(nameof(options), maxTask, "MaxTaskGradNorm: expected a positive norm");
            var scale = norms.Select(n => n > maxTask ? maxTask / n : 1.0).ToArray();
            for (int i = 0; i < t; i++) if (scale[i] < 1) clipped.Add(present[i]);
            if (clipped.Count > 0)
            {
                using var column = tensor(scale, device: device).to_type(dtype).unsqueeze(1);
                matrix = matrix * column;
                for (int i = 0; i < t; i++) for (int j = 0; j < t; j++) gramian[i, j] *= scale[i] * scale[j];
            }
        }

        Tensor update;
        IReadOnlyList<double>? aggregationWeights = null;
        if (aggregator is null) update = matrix.sum(dim: 0);
        else
        {
            var aggregated = aggregator.Aggregate(matrix, new AggregationInput(present, gramian, raw, context, repGrad ? null : GradientMatrix.Blocks(model, shared)));
            update = aggregated.Update;
            aggregationWeights = aggregated.Weights;
            if (update.dim() != 1 || update.shape[0] != size)
                throw new InvalidOperationException($"{aggregator.Name}: update has shape [{string.Join(", ", update.shape)}], expected [{size}]");
        }

        if (repGrad)
        {
            representation!.Shared.backward(new[] { update.view(representation.Shared.shape) });
            passes++;
        }
        else GradientMatrix.Write(update, shared);

        if (result!.ExtraLoss is { } extra) extra.backward();

        return new StepDiagnostics
        {
            Step = options.Step, Tasks = present, MissingTasks = missing, Losses = lossMap,
            Weights = Map(present, w!),
            AggregationWeights = aggregationWeights is null ? null : Map(present, aggregationWeights),
            SharedGradientNorms = Map(present, norms),
            Cosines = GradientMatrix.Cosines(gramian),
            ConflictingPairs = GradientMatrix.ConflictingPairs(gramian),
            ClippedTasks = clipped,
            BackwardPasses = passes,
            Mode = options.Gradients,
        };
    }

    static double[] CheckWeights(Tensor weights, string[] present, string method, long step)
    {
        if (weights.dim() != 1 || weights.shape[0] != present.Length)
            throw new InvalidOperationException(
                $"step {step}: {method} returned weights of shape [{string.Join(", ", weights.shape)}], expected [{present.Length}] (one per task: {string.Join(", ", present)})");
        var w = weights.detach().to_type(ScalarType.Float64).cpu().data<double>().ToArray();
        for (int i = 0; i < w.Length; i++)
            if (!double.IsFinite(w[i]) || w[i] < 0)
                throw new InvalidOperationException($"step {step}: {method} gave task '{present[i]}' the weight {w[i]}; expected a finite weight ≥ 0");
        return w;
    }

    static Dictionary<string, double> Map(IReadOnlyList<string> tasks, IReadOnlyList<double> values) =>
        tasks.Select((t, i) => (t, values[i])).ToDictionary(x => x.t, x => x.Item2);
}
