using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Weighting;
using static TorchSharp.torch;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Tests.Weighting;

/// <summary>
/// Properties shared by all weighting methods: every weighting of a <see cref="MethodCatalog"/> entry (the weighting-only
/// methods and those paired with an aggregator, e.g. IMTL-L in imtl), plus fixed weights. The list is built from the
/// catalogue, so a new method is covered without being listed here.
/// </summary>
public class WeightingPropertyTests
{

    /// <summary>Catalogue names whose weighting is a distinct method (entries that only reuse EW with an aggregator are
    /// represented by "ew").</summary>
    static string[] Catalogue
    {
        get
        {
            TorchRuntime.EnsureInitialized(); // also read during test discovery, before any constructor ran
            return MethodCatalog.Names.GroupBy(n => MethodCatalog.Create(n, new[] { "a", "b", "c" }).Weighting.GetType()).Select(g => g.First()).ToArray();
        }
    }

    public static IEnumerable<object[]> All() => Catalogue.Append("fixed").Select(n => new object[] { n });

    /// <summary>The weightings whose weights sum to a promised total: the sum theory runs on these only, so that every
    /// case it reports asserted the sum.</summary>
    public static IEnumerable<object[]> WithPromisedSum() =>
        Catalogue.Append("fixed").Where(n => SumOfWeights.GetValueOrDefault(n) is not null).Select(n => new object[] { n });

    /// <summary>The weightings that key their state and randomness by task name, so that reversing the task list reverses
    /// the weights. RLW draws one normal per task position instead (<see cref="RlwKeepsTheWeightMultisetUnderPermutation"/>).</summary>
    public static IEnumerable<object[]> KeyedByTaskName() => All().Where(row => (string)row[0] != "rlw");

    /// <summary>What each weighting's weights sum to over T present tasks (null: no promise). A catalogue weighting
    /// without a row here fails <see cref="EveryCatalogueWeightingIsCovered"/>.</summary>
    static readonly Dictionary<string, Func<int, double>?> SumOfWeights = new()
    {
        ["ew"] = t => t, ["fixed"] = null, ["uw"] = null, ["dwa"] = t => t, ["rlw"] = _ => 1, ["famo"] = null,
        ["gradnorm"] = t => t, ["db-mtl"] = null, ["gls"] = null, ["stch"] = t => t, ["imtl-l"] = null, ["excess-mtl"] = t => t,
    };

    [Fact]
    public void EveryCatalogueWeightingIsCovered()
    {
        var missing = Catalogue.Where(n => !SumOfWeights.ContainsKey(n)).ToArray();
        Assert.True(missing.Length == 0, $"catalogue weightings without a row in WeightingPropertyTests.SumOfWeights: {string.Join(", ", missing)}");
        var stale = SumOfWeights.Keys.Where(n => n != "fixed" && !Catalogue.Contains(n)).ToArray();
        Assert.True(stale.Length == 0, $"rows for weightings the catalogue no longer has: {string.Join(", ", stale)}");
    }

    [Theory, MemberData(nameof(WithPromisedSum))]
    public void WeightsSumToWhatTheMethodPromises(string name)
    {
        var total = SumOfWeights[name]!;
        foreach (int count in new[] { 2, 4 })
        {
            var tasks = Enumerable.Range(0, count).Select(i => $"t{i}").ToArray();
            var r = new Random(count + 7);
            var method = Make(name, tasks);
            var history = History(tasks, r);
            var grads = tasks.Select(_ => Enumerable.Range(0, 6).Select(_ => r.NextDouble() - 0.5).ToArray()).ToArray();
            // two steps, so methods that start from equal weights (ExcessMTL) have moved
            Weigh(method, tasks, tasks.Select(_ => 0.1 + r.NextDouble()).ToArray(), grads, history);
            var w = Weigh(method, tasks, tasks.Select(_ => 0.1 + r.NextDouble()).ToArray(), grads.Reverse().ToArray(), history);
            Assert.Equal(total(count), w.Sum(), 4);
        }
    }

    static ILossWeighting Make(string name, IReadOnlyList<string> tasks) =>
        name == "fixed" ? new FixedWeighting(tasks, tasks.Select(_ => 0.5).ToArray()) : MethodCatalog.Create(name, tasks).Weighting;

    static double[] Weigh(ILossWeighting method, IReadOnlyList<string> tasks, double[] losses, double[][] grads, LossHistory history)
    {
        using var scope = NewDisposeScope();
        var l = tensor(losses, dtype: ScalarType.Float32);
        var g = tensor(grads.SelectMany(r => r).ToArray(), new long[] { grads.Length, grads[0].Length }, dtype: ScalarType.Float32);
        var input = new WeightingInput(tasks, method.TransformLosses(l, tasks), losses, new StepContext(5, 6, history), method.NeedsTaskGradients ? g : null);
        return method.Weigh(input).Weights.detach().to_type(ScalarType.Float64).data<double>().ToArray();
    }

    static LossHistory History(IReadOnlyList<string> tasks, Random r)
    {
        var h = new LossHistory();
        for (int e = 0; e < 6; e++)
        {
            for (int s = 0; s < 2; s++) h.Record(tasks.ToDictionary(t => t, _ => 0.5 + r.NextDouble()));
            h.EndEpoch();
        }
        return h;
    }

    [Theory, MemberData(nameof(All))]
    public void WeightsAreFiniteNonNegativeAndOnePerTask(string name)
    {
        foreach (int count in new[] { 2, 5 })
        {
            var tasks = Enumerable.Range(0, count).Select(i => $"t{i}").ToArray();
            var r = new Random(count);
            var w = Weigh(Make(name, tasks), tasks, tasks.Select(_ => 0.1 + r.NextDouble()).ToArray(),
                tasks.Select(_ => Enumerable.Range(0, 6).Select(_ => r.NextDouble() - 0.5).ToArray()).ToArray(), History(tasks, r));
            Assert.Equal(count, w.Length);
            Assert.All(w, v => Assert.True(double.IsFinite(v) && v >= 0, $"{name}: weight {v}"));
        }
    }

    /// <summary>The weights of tasks t0, t1, t2 and of the same tasks listed in reverse (each with its own loss and gradient).</summary>
    static (double[] Forward, double[] Reversed) WeighBothOrders(string name)
    {
        var tasks = new[] { "t0", "t1", "t2" };
        var reversed = tasks.Reverse().ToArray();
        var r = new Random(11);
        var losses = new[] { 0.3, 1.2, 2.5 };
        var grads = tasks.Select(_ => Enumerable.Range(0, 4).Select(_ => r.NextDouble() - 0.5).ToArray()).ToArray();
        var history = History(tasks, r);
        var w = Weigh(Make(name, tasks), tasks, losses, grads, history);
        var wr = Weigh(Make(name, reversed), reversed, losses.Reverse().ToArray(), grads.Reverse().ToArray(), history);
        return (w, wr);
    }

    [Theory, MemberData(nameof(KeyedByTaskName))]
    public void PermutingTheTasksPermutesTheWeights(string name)
    {
        // the same tasks, listed in reverse: every method keys its state and randomness by task name
        var (w, wr) = WeighBothOrders(name);
        for (int i = 0; i < 3; i++) Assert.Equal(w[i], wr[2 - i], 5);
    }

    [Fact]
    public void RlwKeepsTheWeightMultisetUnderPermutation()
    {
        // RLW draws one normal per task position; reversing the task list reverses the draws' assignment, which keeps
        // the weight multiset, not the per-name weights
        var (w, wr) = WeighBothOrders("rlw");
        Assert.Equal(w.OrderBy(x => x).ToArray(), wr.OrderBy(x => x).ToArray());
    }
}
