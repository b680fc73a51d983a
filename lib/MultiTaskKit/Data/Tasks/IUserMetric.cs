using MultiTaskKit.Evaluation;

namespace MultiTaskKit.Data;

/// <summary>
/// A task's own metric, beside the built-in ones: a streaming accumulator that the evaluator resets, feeds with every
/// evaluated row (the model's output and the example) and asks for one number. Its value is logged like the built-in
/// metrics (history, <c>metrics.json</c>, reports) under <see cref="Name"/>, and it can be the selection metric
/// (<c>training.selection_metric</c> = <c>task/name</c>), compared in the direction <see cref="HigherIsBetter"/> says.
/// Implement it for metrics that stream (hold scalars); use <see cref="DelegateMetric"/> for a function of all rows.
/// </summary>
public interface IUserMetric
{
    /// <summary>The metric's name (snake_case; not one of the task's built-in names).</summary>
    string Name { get; }

    /// <summary>Whether a higher value is better (selection and early stopping).</summary>
    bool HigherIsBetter { get; }

    /// <summary>Forgets every row (called before each evaluation).</summary>
    void Reset();

    /// <summary>One row: <paramref name="output"/> is what the task's kind scores (<see cref="TaskKind.Scores"/>: class
    /// probabilities for classification, the predicted value for regression); <paramref name="example"/> holds the true
    /// <see cref="EncodedExample.Label"/>.</summary>
    void Update(ReadOnlySpan<float> output, EncodedExample example);

    /// <summary>The value over the rows since the last <see cref="Reset"/>.</summary>
    double Compute();
}

/// <summary>A <see cref="IUserMetric"/> from a function of every row's output and example (kept until the evaluation ends).</summary>
/// <param name="name">The metric's name.</param>
/// <param name="compute">Outputs (as in <see cref="IUserMetric.Update"/>) and examples, in the same order, to the value.</param>
/// <param name="higherIsBetter">The direction.</param>
public sealed class DelegateMetric(string name, Func<IReadOnlyList<float[]>, IReadOnlyList<EncodedExample>, double> compute, bool higherIsBetter = true) : IUserMetric
{
    readonly List<float[]> outputs = [];
    readonly List<EncodedExample> examples = [];
    readonly Func<IReadOnlyList<float[]>, IReadOnlyList<EncodedExample>, double> compute = compute ?? throw new ArgumentNullException(nameof(compute));

    public string Name { get; } = string.IsNullOrWhiteSpace(name) || name.Any(c => c is ',' or '/' or '"' or '\n')
        ? throw new ArgumentException($"name: expected a metric name without ',', '/', quotes or line breaks, found '{name}'", nameof(name))
        : name;

    public bool HigherIsBetter { get; } = higherIsBetter;

    public void Reset() { outputs.Clear(); examples.Clear(); }

    public void Update(ReadOnlySpan<float> output, EncodedExample example) { outputs.Add(output.ToArray()); examples.Add(example); }

    public double Compute() => compute(outputs, examples);
}
