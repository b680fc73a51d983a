using MultiTaskKit.Data.Synthetic;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Data.Synthetic;

/// <summary>The relatedness dial of <see cref="SyntheticRegression"/>: from identical tasks at 0 to unrelated ones at 1.</summary>
public class SyntheticRegressionTests
{
    static double TargetCorrelation(double conflict)
    {
        var problem = new SyntheticRegression(new SyntheticRegressionOptions(Tasks: 2, InputSize: 8, Samples: 4096, Conflict: conflict, Seed: 3));
        using var scope = NewDisposeScope();
        return corrcoef(stack(new[] { problem.Targets["task1"], problem.Targets["task2"] }))[0, 1].item<float>();
    }

    [Fact]
    public void TheDialMovesFromIdenticalToUnrelatedTasks()
    {
        var correlations = new[] { 0.0, 0.25, 0.5, 0.75, 1.0 }.Select(TargetCorrelation).ToArray();
        Assert.True(correlations[0] > 0.99, $"conflict 0: expected identical targets (up to noise), found correlation {correlations[0]:0.000}");
        Assert.InRange(correlations[2], 0.4, 0.8);
        // orthogonal directions of a standard normal x: independent projections, uncorrelated targets (not negated ones)
        Assert.True(Math.Abs(correlations[4]) < 0.1, $"conflict 1: expected unrelated targets, found correlation {correlations[4]:0.000}");
        for (int i = 1; i < correlations.Length; i++)
            Assert.True(correlations[i] < correlations[i - 1], $"expected the correlation to fall as the dial turns, found {string.Join(", ", correlations.Select(c => c.ToString("0.000")))}");
    }
}
