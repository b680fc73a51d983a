using MultiTaskKit.Aggregation;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Tests.Parity;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Tests.Aggregation;

/// <summary>
/// Properties shared by all aggregators, over seeded families of random gradient matrices. The method list is the
/// catalogue's (every <see cref="MethodCatalog"/> entry with an aggregator); what each method promises beyond the common
/// properties is declared in <see cref="Promises"/>, and a catalogue method without a row there fails
/// <see cref="EveryCatalogueMethodIsCoveredByThePropertyTests"/>.
/// </summary>
public class AggregatorPropertyTests
{

    /// <summary>What an aggregator promises on top of the common properties.</summary>
    /// <param name="MinTasks">Fewest tasks it accepts (Krum: f + 3, TrimmedMean: 2·trim + 1).</param>
    /// <param name="RandomOrder">Its result depends on a random task order (tested for permutations with two tasks only).</param>
    /// <param name="Weights">It reports weights (d = Σ wᵢgᵢ).</param>
    /// <param name="PassesNonConflicting">Non-conflicting gradients come out as their sum times this factor (null: no promise).</param>
    /// <param name="NonNegativeWeights">The update stays in the cone of the task gradients.</param>
    /// <param name="ConflictFree">With two tasks, the update conflicts with neither.</param>
    public sealed record Promise(int MinTasks = 2, bool RandomOrder = false, bool Weights = true, double? PassesNonConflicting = null,
        bool NonNegativeWeights = false, bool ConflictFree = false);

    static readonly Dictionary<string, Promise> Promises = new()
    {
        ["mgda"] = new(NonNegativeWeights: true, ConflictFree: true),
        ["mgda-ub"] = new(NonNegativeWeights: true, ConflictFree: true),
        ["pcgrad"] = new(RandomOrder: true, PassesNonConflicting: 1, NonNegativeWeights: true),
        ["cagrad"] = new(NonNegativeWeights: true),
        ["gradvac"] = new(RandomOrder: true, PassesNonConflicting: 1),
        ["gradvac-layer"] = new(RandomOrder: true, Weights: false, PassesNonConflicting: 1),
        ["gradvac-param"] = new(RandomOrder: true, Weights: false, PassesNonConflicting: 1),
        ["imtl"] = new(),
        ["imtl-g"] = new(),
        ["nash-mtl"] = new(NonNegativeWeights: true),
        ["aligned-mtl"] = new(),
        ["upgrad"] = new(PassesNonConflicting: 1.0 / 3, NonNegativeWeights: true, ConflictFree: true),
        ["dualproj"] = new(PassesNonConflicting: 1.0 / 3, NonNegativeWeights: true, ConflictFree: true),
        ["config"] = new(ConflictFree: true),
        ["fairgrad"] = new(NonNegativeWeights: true),
        ["moco"] = new(Weights: false),
        ["graddrop"] = new(Weights: false, PassesNonConflicting: 1),
        ["krum"] = new(MinTasks: 3, NonNegativeWeights: true),
        ["trimmed-mean"] = new(MinTasks: 3, Weights: false),
    };

    static string[] Catalogue
    {
        get
        {
            TorchRuntime.EnsureInitialized(); // also read during test discovery, before any constructor ran
            return MethodCatalog.Names.Where(n => MethodCatalog.Create(n, new[] { "a", "b", "c" }).Aggregator is not null).ToArray();
        }
    }

    public static IEnumerable<object[]> All() => Catalogue.Select(n => new object[] { n });

    /// <summary>The catalogue's aggregators that make <paramref name="promise"/>: a property theory runs on these only, so
    /// that every case it reports asserted the property (a method without the promise is no case, not a vacuous pass).</summary>
    static IEnumerable<object[]> Promising(Func<Promise, bool> promise) =>
        Catalogue.Where(n => Promises.TryGetValue(n, out var p) && promise(p)).Select(n => new object[] { n });

    public static IEnumerable<object[]> PassingNonConflicting() => Promising(p => p.PassesNonConflicting is not null);
    public static IEnumerable<object[]> WithNonNegativeWeights() => Promising(p => p.NonNegativeWeights);
    public static IEnumerable<object[]> ConflictFree() => Promising(p => p.ConflictFree);

    static IGradientAggregator Make(string name, int tasks) =>
        MethodCatalog.Create(name, Enumerable.Range(0, tasks).Select(i => $"t{i}").ToArray()).Aggregator!;

    static (double[] Update, double[]? Weights) Run(string name, double[][] rows, long step = 0) =>
        ParityRunner.Aggregate(Make(name, rows.Length), rows, Enumerable.Repeat(1.0, rows.Length).ToArray(), step, Blocks(rows[0].Length));

    /// <summary>The columns as parameters of two modules (for the per-layer and per-parameter methods).</summary>
    static ParameterBlock[] Blocks(int size) =>
        new[] { new ParameterBlock("a.weight", 0, size / 2), new ParameterBlock("a.bias", size / 2, 1), new ParameterBlock("b.weight", size / 2 + 1, size - size / 2 - 1) };

    static double[][] Random(int seed, int tasks, int size, bool nonConflicting = false)
    {
        var r = new Random(seed);
        var rows = Enumerable.Range(0, tasks).Select(_ => Enumerable.Range(0, size).Select(_ => r.NextDouble() * 2 - 1).ToArray()).ToArray();
        if (nonConflicting)
            // all in the positive orthant: pairwise dot products ≥ 0
            rows = rows.Select(g => g.Select(Math.Abs).ToArray()).ToArray();
        return rows;
    }

    [Fact]
    public void EveryCatalogueMethodIsCoveredByThePropertyTests()
    {
        var missing = Catalogue.Where(n => !Promises.ContainsKey(n)).ToArray();
        Assert.True(missing.Length == 0, $"catalogue aggregators without a row in AggregatorPropertyTests.Promises: {string.Join(", ", missing)}");
        var stale = Promises.Keys.Where(n => !Catalogue.Contains(n)).ToArray();
        Assert.True(stale.Length == 0, $"rows for methods the catalogue no longer has: {string.Join(", ", stale)}");
    }

    [Theory, MemberData(nameof(All))]
    public void OutputIsFiniteAndShapedLikeAGradient(string name)
    {
        var promise = Promises[name];
        foreach (int tasks in new[] { 2, 3, 5 }.Where(t => t >= promise.MinTasks))
            for (int seed = 0; seed < 5; seed++)
            {
                var (update, weights) = Run(name, Random(seed, tasks, 7));
                Assert.Equal(7, update.Length);
                Assert.All(update, v => Assert.True(double.IsFinite(v)));
                if (promise.Weights) Assert.Equal(tasks, weights!.Length);
                else Assert.Null(weights);
            }
        if (promise.MinTasks > 2)
            Assert.Contains("tasks", Assert.ThrowsAny<ArgumentException>(() => Run(name, Random(0, promise.MinTasks - 1, 7))).Message);
    }

    [Theory, MemberData(nameof(All))]
    public void PermutingTheTasksPermutesTheWeights(string name)
    {
        var promise = Promises[name];
        // random task orders are drawn per task; with two tasks the order is forced, so those methods are tested there
        int tasks = promise.RandomOrder ? 2 : Math.Max(4, promise.MinTasks);
        for (int seed = 0; seed < 4; seed++)
        {
            var rows = Random(seed, tasks, 6);
            var permutation = Enumerable.Range(0, tasks).Reverse().ToArray();
            var (u1, w1) = Run(name, rows);
            var (u2, w2) = Run(name, permutation.Select(i => rows[i]).ToArray());
            if (promise.Weights) for (int i = 0; i < tasks; i++) Assert.Equal(w1![permutation[i]], w2![i], 4);
            for (int j = 0; j < u1.Length; j++) Assert.Equal(u1[j], u2[j], 4);
        }
    }

    [Theory, MemberData(nameof(PassingNonConflicting))]
    public void NonConflictingGradientsPassUnchangedWherePromised(string name)
    {
        var scale = Promises[name].PassesNonConflicting!.Value;
        for (int seed = 0; seed < 5; seed++)
        {
            var rows = Random(seed, 3, 5, nonConflicting: true);
            var (update, _) = Run(name, rows);
            for (int j = 0; j < 5; j++) Assert.Equal(scale * rows.Sum(g => g[j]), update[j], 3);
        }
    }

    [Theory, MemberData(nameof(WithNonNegativeWeights))]
    public void TheUpdateStaysInTheConeOfTheTaskGradientsWherePromised(string name)
    {
        Assert.True(Promises[name].Weights, $"{name}: promises non-negative weights but reports none");
        // non-negative combination weights, for any (conflicting) input
        for (int seed = 0; seed < 8; seed++)
        {
            var (_, weights) = Run(name, Random(seed, 3, 4));
            Assert.All(weights!, w => Assert.True(w >= -1e-9, $"{name}: weight {w} < 0"));
        }
    }

    [Theory, MemberData(nameof(ConflictFree))]
    public void TheUpdateConflictsWithNoTaskWhenADescentDirectionExistsWherePromised(string name)
    {
        for (int seed = 0; seed < 8; seed++)
        {
            var rows = Random(seed, 2, 4); // two gradients in 4-D: a common descent direction always exists
            var (update, _) = Run(name, rows);
            // relative to ‖g‖‖d‖: UPGrad and DualProj solve on a Gramian regularised by 1e-4·I, which leaves conflicts of that order
            foreach (var g in rows)
            {
                double dot = g.Zip(update, (a, b) => a * b).Sum(), scale = ParityRunner.Norm(g) * ParityRunner.Norm(update);
                Assert.True(dot >= -1e-3 * scale, $"{name}: update conflicts with a task (seed {seed}): g·d = {dot:G3}, ‖g‖‖d‖ = {scale:G3}");
            }
        }
    }

    [Theory, MemberData(nameof(All))]
    public void SameInputSameStepGivesTheSameUpdate(string name)
    {
        // reproducibility: randomness comes from (seed, step) alone, so two fresh instances agree
        var rows = Random(3, Math.Max(3, Promises[name].MinTasks), 6);
        var (u1, _) = Run(name, rows, step: 7);
        var (u2, _) = Run(name, rows, step: 7);
        Assert.Equal(u1, u2);
    }
}
