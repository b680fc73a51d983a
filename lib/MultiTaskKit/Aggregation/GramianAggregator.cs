using MultiTaskKit.Weighting;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Aggregation;

/// <summary>
/// Base of aggregators whose update is a linear combination d = Σᵢ wᵢ·gᵢ with weights that depend on the gradients
/// only through the Gramian K = G·Gᵀ (true of every aggregator in the kit, PCGrad and GradVac included: their
/// projections act on coefficients). The weights are solved on the host on a T×T problem; G stays on the device and is
/// read once more for the product wᵀG. Being an <c>nn.Module</c>, stateful aggregators (GradVac's targets) can be
/// attached to the model.
/// </summary>
public abstract class GramianAggregator : nn.Module, IGradientAggregator
{
    protected GramianAggregator(string name) : base(name) { }

    public abstract string Name { get; }
    public virtual bool SupportsRepresentationGradients => true;

    public virtual AggregationResult Aggregate(Tensor taskGradients, AggregationInput input)
    {
        MethodGuards.CheckAggregation(Name, taskGradients, input.Tasks, input.Gramian, input.Losses, KnownTasks);
        int t = input.Tasks.Count;
        var w = Weights(input.Gramian, input);
        if (w.Length != t) throw new InvalidOperationException($"{Name}: produced {w.Length} weights for {t} tasks");
        for (int i = 0; i < t; i++)
            if (!double.IsFinite(w[i])) throw new InvalidOperationException($"{Name}: weight of task '{input.Tasks[i]}' is {w[i]} (Gramian diagonal {input.Gramian[i, i]})");
        return new AggregationResult(GradientMatrix.Combine(taskGradients, w), w);
    }

    /// <summary>The task names a stateful aggregator was built for (null: any names).</summary>
    protected virtual IReadOnlyList<string>? KnownTasks => null;

    /// <summary>The combination weights from the Gramian [T, T].</summary>
    public abstract double[] Weights(double[,] gramian, AggregationInput input);

    /// <summary>
    /// The loop that PCGrad and GradVac share: each task i starts from its own gradient (coefficients eᵢ), meets the
    /// other tasks in a seeded random order and lets <paramref name="adjust"/> change its coefficients given
    /// (i, j, coefficients, cᵀG[:, j]); the result is the sum of the adjusted coefficients over all tasks.
    /// </summary>
    protected static double[] SumOfAdjustedGradients(double[,] gramian, long seed, long step, Action<int, int, double[], double> adjust)
    {
        int t = gramian.GetLength(0);
        var total = new double[t];
        for (int i = 0; i < t; i++)
        {
            var c = new double[t];
            c[i] = 1;
            foreach (int j in StepRandom.ShuffledOthers(StepRandom.For(seed, step, i), t, i))
            {
                double dot = 0;
                for (int k = 0; k < t; k++) dot += c[k] * gramian[k, j];
                adjust(i, j, c, dot);
            }
            for (int k = 0; k < t; k++) total[k] += c[k];
        }
        return total;
    }

    protected static string Format(double x) => x.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
}
