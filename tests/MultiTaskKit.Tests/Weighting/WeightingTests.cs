using MultiTaskKit.Runtime;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Weighting;

/// <summary>Hand-computed cases, one or more per weighting method.</summary>
public class WeightingTests
{
    static readonly string[] Tasks = { "a", "b" };


    static WeightingInput Input(double[] losses, LossHistory? history = null, long step = 0, Tensor? grads = null, ILossWeighting? method = null)
    {
        var l = tensor(losses, dtype: ScalarType.Float32);
        var transformed = method?.TransformLosses(l, Tasks) ?? l;
        return new WeightingInput(Tasks, transformed, losses, new StepContext(step, 0, history), grads);
    }

    static double[] Values(Tensor t) => t.detach().to_type(ScalarType.Float64).data<double>().ToArray();

    [Fact]
    public void UncertaintyWeightingImplementsKendallsLossAndItsGradient()
    {
        var uw = new UncertaintyWeighting(Tasks);
        using (no_grad()) uw.parameters().Single().copy_(tensor(new float[] { 0f, (float)Math.Log(2) }));
        var losses = tensor(new float[] { 2f, 3f });
        var result = uw.Weigh(new WeightingInput(Tasks, losses, new[] { 2.0, 3.0 }, new StepContext()));
        Assert.Equal(new[] { 0.5, 0.25 }, Values(result.Weights).Select(v => Math.Round(v, 6)));
        var total = (result.Weights * losses).sum() + result.ExtraLoss!;
        // ½e^{−s}L + ½s: 0.5·2 + 0.25·3 + 0.5·ln 2
        Assert.Equal(1 + 0.75 + 0.5 * Math.Log(2), total.item<float>(), 5);
        total.backward();
        // ∂/∂sᵢ = −½e^{−sᵢ}Lᵢ + ½
        Assert.Equal(new[] { -0.5, -0.25 }, Values(uw.parameters().Single().grad!).Select(v => Math.Round(v, 5)));
        Assert.Contains("log_variances", uw.state_dict().Keys);
        Assert.Equal("UW(InitialLogVariance=0)", uw.ToString());
    }

    [Fact]
    public void DwaUsesTheRatioOfTheLastTwoEpochMeans()
    {
        var history = new LossHistory();
        var dwa = new DWA(Tasks);
        Assert.Equal(new[] { 1.0, 1.0 }, Values(dwa.Weigh(Input(new[] { 1.0, 1.0 }, history)).Weights));
        history.Record(new Dictionary<string, double> { ["a"] = 1.0, ["b"] = 1.0 });
        history.Record(new Dictionary<string, double> { ["a"] = 1.0, ["b"] = 3.0 });
        history.EndEpoch(); // means a = 1, b = 2
        history.Record(new Dictionary<string, double> { ["a"] = 0.5, ["b"] = 1.8 });
        history.EndEpoch(); // means a = 0.5, b = 1.8
        var w = Values(dwa.Weigh(Input(new[] { 1.0, 1.0 }, history)).Weights);
        double ea = Math.Exp(0.5 / 2), eb = Math.Exp(0.9 / 2);
        Assert.Equal(2 * ea / (ea + eb), w[0], 5);
        Assert.Equal(2 * eb / (ea + eb), w[1], 5);
        Assert.Throws<InvalidOperationException>(() => dwa.Weigh(Input(new[] { 1.0, 1.0 })));
    }

    [Fact]
    public void RlwDrawsSoftmaxOfNormalsReproduciblyPerStep()
    {
        var rlw = new RLW(Tasks, new RlwOptions(Seed: 3));
        var w0 = Values(rlw.Weigh(Input(new[] { 1.0, 1.0 }, step: 0)).Weights);
        var w0Again = Values(new RLW(Tasks, new RlwOptions(Seed: 3)).Weigh(Input(new[] { 1.0, 1.0 }, step: 0)).Weights);
        var w1 = Values(rlw.Weigh(Input(new[] { 1.0, 1.0 }, step: 1)).Weights);
        Assert.Equal(w0, w0Again);
        Assert.NotEqual(w0, w1);
        Assert.Equal(1.0, w0.Sum(), 6);
        Assert.All(w0, v => Assert.True(v > 0));
        // the mean over many steps is close to uniform (E[softmax] = ½ by symmetry)
        double mean = Enumerable.Range(0, 400).Average(s => Values(rlw.Weigh(Input(new[] { 1.0, 1.0 }, step: s)).Weights)[0]);
        Assert.InRange(mean, 0.45, 0.55);
    }

    [Fact]
    public void GradNormPullsTheWeightedGradientNormsToTheirTargets()
    {
        var gn = new GradNorm(Tasks);
        var history = new LossHistory();
        history.Record(new Dictionary<string, double> { ["a"] = 2.0, ["b"] = 1.0 });
        var grads = tensor(new float[] { 3, 4, 1, 0 }, new long[] { 2, 2 });
        var result = gn.Weigh(Input(new[] { 1.0, 1.0 }, history, grads: grads));
        Assert.Equal(new[] { 1.0, 1.0 }, Values(result.Weights));
        // L̃ = (½, 1), r = (⅔, 4/3), Ḡ = 3, targets 3·r^1.5; L_grad = |5 − t₁| + |1 − t₂|
        double t1 = 3 * Math.Pow(2.0 / 3, 1.5), t2 = 3 * Math.Pow(4.0 / 3, 1.5);
        Assert.Equal(Math.Abs(5 - t1) + Math.Abs(1 - t2), result.ExtraLoss!.item<float>(), 4);
        result.ExtraLoss.backward();
        // ∂L/∂w = (+5, −1); through w = 2·softmax(ξ) at ξ = 0: ∂L/∂ξ = (3, −3)
        var g = Values(gn.parameters().Single().grad!);
        Assert.Equal(3.0, g[0], 4);
        Assert.Equal(-3.0, g[1], 4);
    }

    [Fact]
    public void DbMtlBalancesLogLossGradientsToTheLargestNormWithAMovingAverage()
    {
        var db = new DBMTL(Tasks);
        var r0 = db.Weigh(Input(new[] { 1.0, 1.0 }, step: 0, grads: tensor(new float[] { 3, 4, 1, 0 }, new long[] { 2, 2 }), method: db));
        Assert.Equal(new[] { 1.0, 5.0 }, Values(r0.Weights).Select(v => Math.Round(v, 5)));
        Assert.False(r0.ScaleTaskParameters);
        var r1 = db.Weigh(Input(new[] { 1.0, 1.0 }, step: 1, grads: tensor(new float[] { 0, 1, 1, 0 }, new long[] { 2, 2 }), method: db));
        // ĝ₁ = (0,1) + 0.9·((3,4) − (0,1)) = (2.7, 3.7); ĝ₂ = (1,0)
        Assert.Equal(new[] { 2.7, 3.7, 1.0, 0.0 }, Values(r1.TaskGradients!).Select(v => Math.Round(v, 5)));
        double n1 = Math.Sqrt(2.7 * 2.7 + 3.7 * 3.7);
        Assert.Equal(n1, Values(r1.Weights)[1], 4);
        // log transform of the losses
        Assert.Equal(Math.Log(2.0), db.TransformLosses(tensor(new float[] { 2f, 1f }), Tasks)[0].item<float>(), 5);
    }

    [Fact]
    public void FamoWeighsLogLossesAndShiftsWeightAwayFromTheTaskThatImproved()
    {
        var famo = new FAMO(Tasks);
        var history = new LossHistory();
        var r0 = famo.Weigh(Input(new[] { 1.0, 4.0 }, history, step: 0, method: famo));
        // z = (½,½), c = ½/1 + ½/4 = 0.625, weights z/c = 0.8 each; effective ∇ coefficients 0.8/Dᵢ = (0.8, 0.2)
        Assert.Equal(new[] { 0.8, 0.8 }, Values(r0.Weights).Select(v => Math.Round(v, 5)));
        history.Record(new Dictionary<string, double> { ["a"] = 2.0, ["b"] = 4.0 });
        famo.Weigh(Input(new[] { 1.0, 4.0 }, history, step: 1, method: famo));
        // δ = (ln 2, 0): task a improved, so its logit goes down by one Adam step (lr 0.025; weight decay acts on ξ = 0)
        var z = famo.CurrentWeights;
        double expected = 1 / (1 + Math.Exp(0.05));
        Assert.Equal(expected, z["a"], 4);
        Assert.True(z["a"] < z["b"]);
        Assert.Contains("logits", famo.state_dict().Keys);
    }
}
