namespace MultiTaskKit.Aggregation;

/// <summary>Options of <see cref="Krum"/>.</summary>
/// <param name="Byzantine">f: how many task gradients may be adversarial (outliers); needs T ≥ f + 3. Default 0.</param>
/// <param name="Selected">m: how many of the best-scored gradients are averaged (Multi-Krum); default 1 (plain Krum).</param>
public sealed record KrumOptions(int Byzantine = 0, int Selected = 1);

/// <summary>
/// Krum (robust aggregation): each gradient gᵢ is scored by the sum of its distances to its T − f − 2 nearest other
/// gradients; the update is the mean of the m lowest-scored gradients. An outlying gradient has a high score and is left out.
/// <para>Blanchard, El Mhamdi, Guerraoui &amp; Stainer, "Machine Learning with Adversaries: Byzantine Tolerant Gradient
/// Descent", NeurIPS 2017 (https://papers.nips.cc/paper/6617), Section 4 (Multi-Krum: Section 5); as an aggregator in
/// torchjd, whose score sums distances ‖gᵢ − gⱼ‖, not the paper's squared distances: the kit follows torchjd here, so
/// the two choose the same gradients. Distances come from the Gramian: ‖gᵢ − gⱼ‖² = Kᵢᵢ + Kⱼⱼ − 2Kᵢⱼ.
/// Ties go to the lower task index.</para>
/// <para>Hyperparameters (<see cref="KrumOptions"/>): Byzantine = 0, Selected = 1.</para>
/// </summary>
public sealed class Krum : GramianAggregator
{
    public KrumOptions Options { get; }

    public Krum(KrumOptions? options = null) : base("krum")
    {
        Options = options ?? new();
        if (Options.Byzantine < 0) throw new ArgumentOutOfRangeException(nameof(options), Options.Byzantine, "Byzantine: expected a count ≥ 0");
        if (Options.Selected < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.Selected, "Selected: expected a count ≥ 1");
    }

    public override string Name => "Krum";

    public override double[] Weights(double[,] gramian, AggregationInput input)
    {
        int t = gramian.GetLength(0);
        if (t < Options.Byzantine + 3 || t < Options.Selected)
            throw new ArgumentException($"Krum: expected at least {Math.Max(Options.Byzantine + 3, Options.Selected)} tasks (Byzantine + 3 and Selected), found {t}: {string.Join(", ", input.Tasks)}");
        int neighbours = t - Options.Byzantine - 2;
        var scores = new double[t];
        for (int i = 0; i < t; i++)
            scores[i] = Enumerable.Range(0, t).Where(j => j != i)
                .Select(j => Math.Sqrt(Math.Max(gramian[i, i] + gramian[j, j] - 2 * gramian[i, j], 0)))
                .OrderBy(d => d).Take(neighbours).Sum();
        var w = new double[t];
        foreach (int i in Enumerable.Range(0, t).OrderBy(i => scores[i]).ThenBy(i => i).Take(Options.Selected)) w[i] = 1.0 / Options.Selected;
        return w;
    }

    public override string ToString() => $"Krum(Byzantine={Options.Byzantine}, Selected={Options.Selected})";
}
