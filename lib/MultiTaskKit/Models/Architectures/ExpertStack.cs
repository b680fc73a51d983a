using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>
/// An expert of <see cref="MMoENetwork"/> and <see cref="PLENetwork"/>: a run of consecutive trunk layers (its own modules
/// or clones), applied in order to a hidden state. Layout: <c>layers.{i}</c>, i = the trunk's own layer index, so an
/// expert's keys compare with the trunk's key by key.
/// </summary>
sealed class ExpertStack : nn.Module<HiddenState, HiddenState>
{
    readonly ModuleContainer layers = new("layers");
    readonly List<nn.Module<HiddenState, HiddenState>> list = new();

    /// <param name="trunk">The trunk the layers come from.</param>
    /// <param name="first">The first trunk layer index of the run.</param>
    /// <param name="count">How many layers (at least 1).</param>
    /// <param name="original">Take the trunk's own modules (once per trunk layer) instead of clones.</param>
    public ExpertStack(ISplittableTrunk trunk, int first, int count, bool original) : base("expert")
    {
        for (int i = first; i < first + count; i++)
            list.Add(layers.Add(i.ToString(), original ? trunk.Layers[i] : trunk.CloneLayer(i)));
        register_module("layers", layers);
    }

    public override HiddenState forward(HiddenState state)
    {
        foreach (var layer in list) state = layer.call(state);
        return state;
    }

    /// <summary>The trunk's layers [from, to) cut into <paramref name="parts"/> contiguous runs, as even as possible
    /// (the lower runs take the remainder): (first index, count) per run.</summary>
    public static (int First, int Count)[] Partition(int from, int to, int parts)
    {
        int n = to - from;
        var runs = new (int, int)[parts];
        int start = from;
        for (int p = 0; p < parts; p++)
        {
            int count = n / parts + (p < n % parts ? 1 : 0);
            runs[p] = (start, count);
            start += count;
        }
        return runs;
    }
}

/// <summary>A softmax gate: a linear map from a row summary to one logit per expert.
/// Field names equal the registered names.</summary>
sealed class SoftmaxGate : nn.Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.Linear linear;

    public SoftmaxGate(long inputSize, int experts, Device? device) : base("gate")
    {
        linear = nn.Linear(inputSize, experts);
        if (device is not null) linear.to(device);
        register_module("linear", linear);
    }

    /// <summary>[batch, input] to [batch, experts], each row a distribution (computed in float32).</summary>
    public override Tensor forward(Tensor summary) =>
        nn.functional.softmax(linear.call(summary.to_type(ScalarType.Float32)), -1);
}
