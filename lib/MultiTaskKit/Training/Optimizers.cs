using MultiTaskKit.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Training;

/// <summary>The trainer's optimizers: two parameter groups, the body (trunk and strategy state) at
/// <see cref="OptimizerConfig.Lr"/> and the task heads at <see cref="OptimizerConfig.HeadLr"/>.</summary>
public static class Optimizers
{
    /// <summary>The optimizer <paramref name="o"/> names over <paramref name="model"/>'s parameters, and each group's base
    /// rate (what a <see cref="LearningRateSchedule"/> scales). <paramref name="fusedAdamW"/> selects
    /// <see cref="AdamWKernel"/> inside <see cref="LeanAdamW"/> (the same numbers; false runs libtorch's operations).</summary>
    public static (OptimizerHelper Optimizer, double[] BaseRates) Create(MultiTaskNetwork model, OptimizerConfig o, bool fusedAdamW = true)
    {
        var headParams = new HashSet<Parameter>(model.Tasks.SelectMany(t => model.Head(t).parameters()), ReferenceEqualityComparer.Instance);
        var body = model.parameters().Where(p => !headParams.Contains(p)).ToList();
        var heads = model.parameters().Where(p => headParams.Contains(p)).ToList();
        double headLr = o.HeadLr ?? o.Lr;
        double[] rates = [o.Lr, headLr];
        OptimizerHelper optimizer = o.Name switch
        {
            OptimizerKind.Adamw => new LeanAdamW([new AdamW.ParamGroup(body, o.Lr, 0.9, 0.999, 1e-8, o.WeightDecay, false, false), new AdamW.ParamGroup(heads, headLr, 0.9, 0.999, 1e-8, o.WeightDecay, false, false)], o.Lr) { Fused = fusedAdamW },
            OptimizerKind.Adam => optim.Adam([new Adam.ParamGroup(body, o.Lr, 0.9, 0.999, 1e-8, o.WeightDecay, false, false), new Adam.ParamGroup(heads, headLr, 0.9, 0.999, 1e-8, o.WeightDecay, false, false)], o.Lr),
            _ => optim.SGD([new SGD.ParamGroup(body, o.Lr, o.Momentum, 0, o.WeightDecay, false, false), new SGD.ParamGroup(heads, headLr, o.Momentum, 0, o.WeightDecay, false, false)], o.Lr),
        };
        return (optimizer, rates);
    }
}
