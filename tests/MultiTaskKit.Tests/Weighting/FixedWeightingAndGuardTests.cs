using MultiTaskKit.Aggregation;
using MultiTaskKit.Weighting;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Weighting;

/// <summary>
/// Fixed weights and the input checks every weighting runs before it computes, each refusal with what it names.
/// Mutation testing (<c>.ci/mutation weighting</c>) found both unread by the weighting tests.
/// </summary>
public class FixedWeightingAndGuardTests
{
    static readonly string[] Tasks = ["a", "b", "c"];

    static WeightingInput Input(string[] tasks, Tensor losses, double[]? raw = null, Tensor? grads = null) =>
        new(tasks, losses, raw ?? losses.data<float>().Select(x => (double)x).ToArray(), new StepContext(), grads);

    [Fact]
    public void FixedWeightsAreReturnedForTheTasksPresentInTheirOrder()
    {
        using var scope = NewDisposeScope();
        var byName = new FixedWeighting(Tasks, new Dictionary<string, double> { ["c"] = 0.5, ["a"] = 0.3, ["b"] = 2.0 });
        var byOrder = new FixedWeighting(Tasks, [0.3, 2.0, 0.5]);
        Assert.Equal(new[] { 0.3, 2.0, 0.5 }, byName.Weights);
        Assert.Equal(byOrder.Weights, byName.Weights);
        Assert.Equal("Fixed(a=0.3, b=2, c=0.5)", byName.ToString());
        var w = byName.Weigh(Input(["c", "a"], tensor(new[] { 1f, 1f }))).Weights;
        Assert.Equal(new[] { 0.5f, 0.3f }, w.data<float>().ToArray());
    }

    [Fact]
    public void BadFixedWeightsAreRefusedNamingTheTask()
    {
        var missing = Assert.Throws<ArgumentException>(() => new FixedWeighting(Tasks, new Dictionary<string, double> { ["a"] = 1, ["b"] = 1 }));
        Assert.Contains("missing c", missing.Message);
        var zero = Assert.Throws<ArgumentException>(() => new FixedWeighting(Tasks, [0.0, 0.0, 0.0]));
        Assert.Contains("all weights are 0", zero.Message);
        var inf = Assert.Throws<ArgumentException>(() => new FixedWeighting(Tasks, [1.0, double.PositiveInfinity, 1.0]));
        Assert.Contains("task 'b'", inf.Message);
        Assert.NotNull(new FixedWeighting(Tasks, [0.0, 1.0, 0.0])); // zero for some tasks is allowed
        Assert.Throws<ArgumentNullException>(() => new FixedWeighting(Tasks, (IReadOnlyList<double>)null!));
        Assert.Throws<ArgumentException>(() => new FixedWeighting([], Array.Empty<double>()));
    }

    [Fact]
    public void EveryWeightingChecksItsInputNamingWhatIsWrong()
    {
        using var scope = NewDisposeScope();
        var ew = new EqualWeighting(Tasks);
        string Refusal(WeightingInput input) => Assert.Throws<ArgumentException>(() => ew.Weigh(input)).Message;

        Assert.Contains("expected at least one task, found none", Refusal(Input([], zeros(0))));
        Assert.Contains("task 'a' appears twice", Refusal(Input(["a", "a"], ones(2))));
        Assert.Contains("unknown task 'd'; the method was built for a, b, c", Refusal(Input(["a", "d"], ones(2))));
        Assert.Contains("expected one loss per task (2: a, b), found losses of shape [3]", Refusal(Input(["a", "b"], ones(3))));
        Assert.Contains("found losses of shape [2, 1]", Refusal(Input(["a", "b"], ones(2, 1))));
        Assert.Contains("expected one raw loss per task (2), found 1", Refusal(Input(["a", "b"], ones(2), [1.0])));
        Assert.Contains("expected task gradients [2, P]", Refusal(Input(["a", "b"], ones(2), grads: ones(3, 4))));
        var nan = ones(2, 4);
        nan[1, 2] = tensor(float.NaN);
        Assert.Contains("the gradient of task 'b' has NaN or infinite entries", Refusal(Input(["a", "b"], ones(2), grads: nan)));
        Assert.Equal(new[] { 1f, 1f }, ew.Weigh(Input(["b", "c"], ones(2), grads: ones(2, 4))).Weights.data<float>().ToArray());
    }

    [Fact]
    public void EveryWeightingHasItsOwnNameAndModuleName()
    {
        var weightings = MethodCatalog.Names.Select(n => MethodCatalog.Create(n, Tasks))
            .Where(m => m.Aggregator is null).Select(m => (WeightingMethod)m.Weighting).ToList();
        Assert.Equal(11, weightings.Count);
        Assert.All(weightings, w => Assert.False(string.IsNullOrWhiteSpace(w.Name)));
        Assert.All(weightings, w => Assert.False(string.IsNullOrWhiteSpace(w.GetName())));
        Assert.Equal(weightings.Count, weightings.Select(w => w.Name).Distinct().Count());
        Assert.Equal(weightings.Count, weightings.Select(w => w.GetName()).Distinct().Count());
        Assert.Contains(weightings, w => w.Name == "EW" && w.GetName() == "equal_weighting");
    }
}
