using MultiTaskKit.Aggregation;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Tests.Aggregation;

/// <summary>Properties shared by all aggregators, over seeded families of random gradient matrices.</summary>
public class AggregatorPropertyTests
{
    public AggregatorPropertyTests() => TorchRuntime.EnsureInitialized();

    public static IEnumerable<object[]> All() => new[]
    {
        new object[] { "MGDA" }, new object[] { "PCGrad" }, new object[] { "CAGrad" }, new object[] { "GradVac" },
        new object[] { "IMTL" }, new object[] { "Nash-MTL" }, new object[] { "Aligned-MTL" }, new object[] { "UPGrad" }, new object[] { "Sum" },
    };

    static IGradientAggregator Make(string name, int tasks) => name switch
    {
        "MGDA" => new MGDA(),
        "PCGrad" => new PCGrad(),
        "CAGrad" => new CAGrad(),
        "GradVac" => new GradVac(Enumerable.Range(0, tasks).Select(i => $"t{i}").ToArray()),
        "IMTL" => new IMTL(),
        "Nash-MTL" => new NashMTL(tasks, new NashMtlOptions(MaxNorm: 0, Iterations: 100)),
        "Aligned-MTL" => new AlignedMTL(),
        "UPGrad" => new UPGrad(),
        "Sum" => new Sum(),
        _ => throw new ArgumentException(name),
    };

    static double[][] Random(int seed, int tasks, int size, bool nonConflicting = false)
    {
        var r = new Random(seed);
        var rows = Enumerable.Range(0, tasks).Select(_ => Enumerable.Range(0, size).Select(_ => r.NextDouble() * 2 - 1).ToArray()).ToArray();
        if (nonConflicting)
            // all in the positive orthant: pairwise dot products ≥ 0
            rows = rows.Select(g => g.Select(Math.Abs).ToArray()).ToArray();
        return rows;
    }

    [Theory, MemberData(nameof(All))]
    public void OutputIsFiniteAndShapedLikeAGradient(string name)
    {
        foreach (int tasks in new[] { 2, 3, 5 })
            for (int seed = 0; seed < 5; seed++)
            {
                var (update, weights) = AggregatorTests.Run(Make(name, tasks), Random(seed, tasks, 7));
                Assert.Equal(7, update.Length);
                Assert.Equal(tasks, weights.Length);
                Assert.All(update, v => Assert.True(double.IsFinite(v)));
            }
    }

    [Theory, MemberData(nameof(All))]
    public void PermutingTheTasksPermutesTheWeights(string name)
    {
        // PCGrad and GradVac draw a random order per task; with two tasks the order is forced, so they are tested there
        int tasks = name is "PCGrad" or "GradVac" ? 2 : 4;
        for (int seed = 0; seed < 4; seed++)
        {
            var rows = Random(seed, tasks, 6);
            var permutation = Enumerable.Range(0, tasks).Reverse().ToArray();
            var (u1, w1) = AggregatorTests.Run(Make(name, tasks), rows);
            var (u2, w2) = AggregatorTests.Run(Make(name, tasks), permutation.Select(i => rows[i]).ToArray());
            for (int i = 0; i < tasks; i++) Assert.Equal(w1[permutation[i]], w2[i], 4);
            for (int j = 0; j < u1.Length; j++) Assert.Equal(u1[j], u2[j], 4);
        }
    }

    [Theory]
    [InlineData("PCGrad")]
    [InlineData("GradVac")]
    [InlineData("UPGrad")]
    [InlineData("Sum")]
    public void NonConflictingGradientsPassUnchanged(string name)
    {
        for (int seed = 0; seed < 5; seed++)
        {
            int tasks = 3;
            var rows = Random(seed, tasks, 5, nonConflicting: true);
            var (update, _) = AggregatorTests.Run(Make(name, tasks), rows);
            double scale = name == "UPGrad" ? 1.0 / tasks : 1.0; // UPGrad averages
            for (int j = 0; j < 5; j++) Assert.Equal(scale * rows.Sum(g => g[j]), update[j], 3);
        }
    }

    [Theory]
    [InlineData("MGDA")]
    [InlineData("CAGrad")]
    [InlineData("Nash-MTL")]
    [InlineData("UPGrad")]
    [InlineData("PCGrad")]
    public void TheUpdateStaysInTheConeOfTheTaskGradients(string name)
    {
        // non-negative combination weights, for any (conflicting) input
        for (int seed = 0; seed < 8; seed++)
        {
            var (_, weights) = AggregatorTests.Run(Make(name, 3), Random(seed, 3, 4));
            Assert.All(weights, w => Assert.True(w >= -1e-9, $"{name}: weight {w} < 0"));
        }
    }

    [Theory]
    [InlineData("MGDA")]
    [InlineData("UPGrad")]
    public void TheUpdateConflictsWithNoTaskWhenADescentDirectionExists(string name)
    {
        for (int seed = 0; seed < 8; seed++)
        {
            var rows = Random(seed, 2, 4); // two gradients in 4-D: a common descent direction always exists
            var (update, _) = AggregatorTests.Run(Make(name, 2), rows);
            foreach (var g in rows) Assert.True(g.Zip(update, (a, b) => a * b).Sum() >= -1e-6, $"{name}: update conflicts with a task (seed {seed})");
        }
    }
}
