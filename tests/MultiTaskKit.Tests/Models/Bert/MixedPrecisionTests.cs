using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Tests.Models.Bert;

/// <summary>
/// Mixed bf16 against fp32 on the tiny BERT. The tolerance: bfloat16 keeps 8 significant bits, so one rounding is off by
/// at most 2⁻⁹ relative (unit roundoff u = 2⁻⁸ as a bound). Each product rounds its two inputs and its output, two
/// layers chain about a dozen such roundings, and LayerNorm renormalises after each sub-layer, so errors add rather than
/// compound: the relative error of the output, and of every parameter's gradient, in the Frobenius norm, must stay
/// below 8u = 2⁻⁵ ≈ 3 %. It must also exceed 10⁻⁴, far above float32's reordering noise (about 10⁻⁷), or the
/// products did not run in bf16 at all.
/// </summary>
[Collection(ProcessStateCollection.Name)]
public class MixedPrecisionTests(ITestOutputHelper output)
{
    const double Tolerance = 1.0 / 32, Floor = 1e-4;

    static BertModel Tiny(double dropout, int seed = 1)
    {
        manual_seed(seed);
        return new BertModel(BertConfig.Tiny with { HiddenDropoutProb = dropout, AttentionProbsDropoutProb = dropout }, addPoolingLayer: false);
    }

    static (Tensor Ids, Tensor Mask) Batch()
    {
        var gen = new Generator(7);
        var ids = randint(5, 99, new long[] { 4, 12 }, dtype: int64, generator: gen);
        var mask = ones(4, 12, dtype: int64);
        mask[1, TensorIndex.Slice(7, null)] = 0; // one padded row, so the masked attention path runs too
        return (ids, mask);
    }

    /// <summary>The last hidden state and every parameter's gradient of a fixed random projection of it, at a fixed seed (so dropout draws the same masks).</summary>
    static (Tensor Hidden, Dictionary<string, Tensor> Grads) ForwardBackward(BertModel model, Precision precision, bool training)
    {
        MixedPrecision.Apply(model, precision);
        model.train(training);
        model.zero_grad();
        var (ids, mask) = Batch();
        var probe = randn(new long[] { 4, 12, 32 }, generator: new Generator(11));
        manual_seed(5);
        var hidden = model.forward(ids, mask).LastHiddenState;
        (hidden * probe).sum().backward();
        return (hidden.detach(), model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
    }

    static double RelativeError(Tensor value, Tensor reference) =>
        (value - reference).norm().item<float>() / Math.Max(1e-12, reference.norm().item<float>());

    [Theory]
    [InlineData(0.0, false)] // evaluation: fused attention (the inference route, stacked Q/K/V) without gradients is checked below
    [InlineData(0.0, true)]  // training without dropout: fused attention
    [InlineData(0.1, true)]  // training with dropout: the explicit chain with SoftmaxDropout in float32
    public void Bf16ForwardAndBackwardAgreeWithFp32(double dropout, bool training)
    {
        using var scope = NewDisposeScope();
        using var model = Tiny(dropout);
        var (h32, g32) = ForwardBackward(model, Precision.Fp32, training);
        var (h16, g16) = ForwardBackward(model, Precision.Bf16, training);
        Assert.Equal(ScalarType.Float32, h16.dtype); // the residual stream and LayerNorm are float32
        double hiddenError = RelativeError(h16, h32);
        output.WriteLine($"dropout {dropout}, training {training}: hidden state relative error {hiddenError:E2}");
        Assert.InRange(hiddenError, Floor, Tolerance);
        var matrixGradients = 0;
        foreach (var (name, reference) in g32)
        {
            var grad = g16[name];
            Assert.Equal(ScalarType.Float32, grad.dtype);
            // The key bias's exact gradient is zero (adding one vector to every key shifts a query's scores by a
            // constant, which softmax ignores), so both sides are rounding noise and their ratio means nothing.
            if (name.EndsWith("attention.self.key.bias")) continue;
            double error = RelativeError(grad, reference);
            output.WriteLine($"  {name}: {error:E2}");
            Assert.True(error <= Tolerance, $"{name}: relative gradient error {error:E2} exceeds {Tolerance:E2}");
            if (name.StartsWith("encoder.") && name.EndsWith(".weight") && !name.Contains("LayerNorm"))
            {
                matrixGradients++;
                Assert.True(error >= Floor, $"{name}: error {error:E2}: no bf16 rounding visible");
            }
        }
        Assert.Equal(2 * 6, matrixGradients);
    }

    [Fact]
    public void Bf16InferenceAgreesWithFp32()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny(0.1);
        model.eval();
        var (ids, mask) = Batch();
        using var _ = no_grad();
        var h32 = MixedPrecision.Apply(model, Precision.Fp32).forward(ids, mask);
        var h16 = MixedPrecision.Apply(model, Precision.Bf16).forward(ids, mask);
        Assert.Equal(ScalarType.Float32, h16.MeanPooled.dtype);
        Assert.InRange(RelativeError(h16.LastHiddenState, h32.LastHiddenState), Floor, Tolerance);
    }

    /// <summary>
    /// bf16 inference masks its bf16 scores with the most negative finite bf16: a row whose keys are all masked attends
    /// uniformly and stays finite (float32's most negative value would round to −∞ in bf16, and softmax of a row of −∞
    /// is NaN), and the other rows agree with float32.
    /// </summary>
    [Fact]
    public void Bf16InferenceKeepsAFullyMaskedRowFinite()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny(0.0);
        model.eval();
        var (ids, mask) = Batch();
        mask[2] = zeros(12, dtype: int64);
        using var _ = no_grad();
        var h16 = MixedPrecision.Apply(model, Precision.Bf16).forward(ids, mask).LastHiddenState;
        Assert.True(h16.isfinite().all().item<bool>(), "bf16 inference produced a non-finite value");
        var h32 = MixedPrecision.Apply(model, Precision.Fp32).forward(ids, mask).LastHiddenState;
        var kept = tensor(new long[] { 0, 1, 3 });
        Assert.InRange(RelativeError(h16.index_select(0, kept), h32.index_select(0, kept)), Floor, Tolerance);
    }

    /// <summary>Weights cast once for inference give exactly the per-call cast's output, are used only without
    /// gradients, and are freed with the scope.</summary>
    [Fact]
    public void WeightsCastOnceForInferenceGiveTheSameOutputAndAreFreed()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny(0.0);
        model.eval();
        MixedPrecision.Apply(model, Precision.Bf16);
        var (ids, mask) = Batch();
        Tensor perCall;
        using (no_grad()) perCall = model.forward(ids, mask).LastHiddenState;
        var query = model.named_modules().Select(m => m.module).OfType<TorchSharp.Modules.Linear>().First();
        Tensor cast;
        using (MixedPrecision.CastWeightsForInference(model))
        {
            using (no_grad())
            {
                cast = MixedPrecision.CastForInference(query, ScalarType.BFloat16)!.Weight;
                Assert.Equal(ScalarType.BFloat16, cast.dtype);
                var once = model.forward(ids, mask).LastHiddenState;
                Assert.True(once.allclose(perCall, 0, 0), "the cast-once output differs from the per-call cast");
            }
            // with gradients on, the products cast at the call and the gradient reaches the float32 weights
            Assert.Null(MixedPrecision.CastForInference(query, ScalarType.BFloat16));
            model.forward(ids, mask).LastHiddenState.sum().backward();
            Assert.NotNull(query.weight!.grad);
            Assert.Equal(ScalarType.Float32, query.weight!.grad!.dtype);
        }
        using (no_grad()) Assert.Null(MixedPrecision.CastForInference(query, ScalarType.BFloat16));
        Assert.True(cast.IsInvalid, "the scope's bf16 copy was not freed");
    }

    static MultiTaskModel TinyMultiTask(Precision precision, int seed)
    {
        var bert = MixedPrecision.Apply(Tiny(0.1, seed), precision); // set before the split: clones must inherit it
        var trunk = new BertTrunk(bert, BertPooling.Mean);
        var heads = new[]
        {
            new KeyValuePair<string, TaskHead>("a", new ClassificationHead(trunk.OutputSize, 2)),
            new KeyValuePair<string, TaskHead>("b", new RegressionHead(trunk.OutputSize, 1)),
        };
        var model = new MultiTaskModel(trunk, heads, SharingPlan.SplitAt(1));
        model.train();
        return model;
    }

    static Dictionary<string, Tensor> Targets() => new()
    {
        ["a"] = tensor(new long[] { 0, 1, 1, 0 }),
        ["b"] = tensor(new float[] { 0.5f, -1f, 2f, 0f }),
    };

    static void Step(MultiTaskModel model, optim.Optimizer optimizer)
    {
        using var scope = NewDisposeScope();
        var (ids, mask) = Batch();
        optimizer.zero_grad();
        var losses = model.Losses(model.forward(TrunkInput.FromTokens(ids, mask)), Targets());
        foreach (var loss in losses.Values) Assert.Equal(ScalarType.Float32, loss.dtype);
        losses.Values.Aggregate((x, y) => x + y).backward();
        optimizer.step();
    }

    [Fact]
    public void MasterWeightsGradientsAndOptimizerStateStayFloat32()
    {
        using var model = TinyMultiTask(Precision.Bf16, seed: 1);
        // Every product module, the task branches' clones included, multiplies in bf16.
        var products = model.modules().OfType<IMixedPrecisionModule>().Distinct(ReferenceEqualityComparer.Instance).Cast<IMixedPrecisionModule>().ToList();
        Assert.Equal(2 * 4 + 4, products.Count); // 4 per layer: shared layer 0, and layer 1 for each of the two tasks
        Assert.All(products, m => Assert.Equal(ScalarType.BFloat16, m.ComputeType));
        var before = model.parameters().Select(p => p.detach().clone()).ToList();
        using var optimizer = new LeanAdamW(model.parameters(), lr: 1e-2);
        Step(model, optimizer);
        Step(model, optimizer);
        var after = model.parameters().ToList();
        Assert.All(after, p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.All(after.Where(p => p.grad is not null), p => Assert.Equal(ScalarType.Float32, p.grad!.dtype));
        Assert.Contains(after.Zip(before), pair => !pair.First.SameAs(pair.Second)); // the steps did update the weights
        var state = optimizer.state_dict().State.Cast<TorchSharp.Modules.AdamW.State>().ToList();
        Assert.NotEmpty(state);
        Assert.All(state, s => { Assert.Equal(ScalarType.Float32, s.exp_avg.dtype); Assert.Equal(ScalarType.Float32, s.exp_avg_sq.dtype); });
    }

    [Theory]
    [InlineData(Precision.Bf16, Precision.Fp32)]
    [InlineData(Precision.Fp32, Precision.Bf16)]
    public void CheckpointsAreFloat32AndLoadInTheOtherPrecision(Precision saved, Precision loaded)
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("mtk-mixed-").FullName;
        try
        {
            using var source = TinyMultiTask(saved, seed: 1);
            using (var optimizer = new LeanAdamW(source.parameters(), lr: 1e-2)) Step(source, optimizer);
            var path = Path.Combine(dir, Checkpoint.WeightsFile);
            BertCheckpoint.WriteSafetensors(source, path);
            var onDisk = BertCheckpoint.ReadSafetensors(path);
            Assert.All(onDisk.Values, t => Assert.Equal(ScalarType.Float32, t.dtype));

            using var target = TinyMultiTask(loaded, seed: 2); // different initial weights
            Checkpoint.LoadWeights(target, path);
            Assert.Equal(loaded, MixedPrecision.Of(target));
            var want = source.state_dict();
            foreach (var (key, value) in target.state_dict())
            {
                Assert.Equal(ScalarType.Float32, value.dtype);
                Assert.True(value.SameAs(want[key]), $"{key} differs after loading");
            }
            // And the loaded model runs in its own precision: the same outputs as the source run in that precision.
            source.eval(); target.eval();
            MixedPrecision.Apply(source, loaded);
            var (ids, mask) = Batch();
            using var _ = no_grad();
            var a = source.forward(TrunkInput.FromTokens(ids, mask));
            var b = target.forward(TrunkInput.FromTokens(ids, mask));
            foreach (var task in new[] { "a", "b" })
                Assert.True(a[task].SameAs(b[task]), $"task {task}: outputs differ");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void DropoutAddToTakesABf16ProductAndReturnsFloat32()
    {
        using var scope = NewDisposeScope();
        var input = randn(64, 48).to(ScalarType.BFloat16);
        var residual = randn(64, 48);
        manual_seed(3);
        var mixed = FastDropout.AddTo(input, residual, 0.25, training: true);
        manual_seed(3);
        var reference = FastDropout.AddTo(input.to(ScalarType.Float32), residual, 0.25, training: true);
        Assert.Equal(ScalarType.Float32, mixed.dtype);
        Assert.True(mixed.SameAs(reference)); // the same mask, and bf16 → float32 is exact
    }

    [Fact]
    public void AutoMustBeResolvedBeforeItIsApplied()
    {
        using var model = Tiny(0.0);
        var e = Assert.Throws<ArgumentException>(() => MixedPrecision.Apply(model, Precision.Auto));
        Assert.Contains("auto", e.Message);
    }
}
