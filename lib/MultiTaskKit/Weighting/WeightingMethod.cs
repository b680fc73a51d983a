using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>
/// Base of the kit's weighting methods: an <c>nn.Module</c> (so learnable state registers and travels with the model)
/// that knows the model's task names, to find each present task's state by name.
/// </summary>
public abstract class WeightingMethod : nn.Module, ILossWeighting
{
    protected WeightingMethod(string name, IReadOnlyList<string> tasks) : base(name)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Count == 0) throw new ArgumentException("tasks: expected at least one task, found none", nameof(tasks));
        AllTasks = tasks.ToArray();
    }

    /// <summary>All task names the method was built for (the model's tasks).</summary>
    public IReadOnlyList<string> AllTasks { get; }

    public abstract string Name { get; }
    public virtual bool NeedsTaskGradients => false;
    public virtual Tensor TransformLosses(Tensor losses, IReadOnlyList<string> tasks) => losses;
    /// <summary>Checks the input (<see cref="MethodGuards"/>), then lets the method compute its weights.</summary>
    public WeightingResult Weigh(WeightingInput input)
    {
        MethodGuards.CheckWeighting(Name, input, AllTasks);
        var result = Compute(input);
        MethodGuards.CheckWeights(Name, result.Weights, input.Tasks);
        return result;
    }

    /// <summary>The method's weights for an input that passed the common checks.</summary>
    protected abstract WeightingResult Compute(WeightingInput input);

    /// <summary>Index of each present task in <see cref="AllTasks"/>, as an int64 tensor on <paramref name="device"/>.</summary>
    protected Tensor Positions(IReadOnlyList<string> present, Device device) =>
        tensor(present.Select(IndexOf).Select(i => (long)i).ToArray(), device: device);

    protected int IndexOf(string task)
    {
        for (int i = 0; i < AllTasks.Count; i++) if (AllTasks[i] == task) return i;
        throw new ArgumentException($"{Name}: unknown task '{task}'; built for {string.Join(", ", AllTasks)}");
    }

    protected static string Format(double x) => x.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
}
