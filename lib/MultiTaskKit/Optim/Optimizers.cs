using MultiTaskKit.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Optim;

/// <summary>The trainer's optimizers: two parameter groups, the body (trunk and strategy state) at
/// <see cref="OptimizerConfig.Lr"/> and the task heads at <see cref="OptimizerConfig.HeadLr"/>, and a third for an
/// architecture's mixing parameters (<see cref="MultiTaskNetwork.MixingParameters"/>) at the body's rate without weight decay.</summary>
public static class Optimizers
{
    /// <summary>The optimizer <paramref name="o"/> names over <paramref name="model"/>'s parameters, and each group's base
    /// rate (what a <see cref="LearningRateSchedule"/> scales). <paramref name="fusedAdamW"/> selects
    /// <see cref="AdamWKernel"/> inside <see cref="LeanAdamW"/> (the same numbers; false runs libtorch's operations).</summary>
    public static (OptimizerHelper Optimizer, double[] BaseRates) Create(MultiTaskNetwork model, OptimizerConfig o, bool fusedAdamW = true)
    {
        var headParams = new HashSet<Parameter>(model.Tasks.SelectMany(t => model.Head(t).parameters()), ReferenceEqualityComparer.Instance);
        // mixing parameters (cross-stitch α, gates, layer attention) train at the body's rate without weight decay, a third group
        var mixingParams = new HashSet<Parameter>(model.MixingParameters(), ReferenceEqualityComparer.Instance);
        var body = model.parameters().Where(p => !headParams.Contains(p) && !mixingParams.Contains(p)).ToList();
        var heads = model.parameters().Where(p => headParams.Contains(p)).ToList();
        var mixing = model.parameters().Where(p => mixingParams.Contains(p)).ToList();
        double headLr = o.HeadLr ?? o.Lr;
        double[] rates = mixing.Count > 0 ? [o.Lr, headLr, o.Lr] : [o.Lr, headLr];
        OptimizerHelper optimizer = o.Name switch
        {
            OptimizerKind.Adamw => new LeanAdamW(Groups((ps, lr, wd) => new AdamW.ParamGroup(ps, lr, 0.9, 0.999, 1e-8, wd, false, false)), o.Lr) { Fused = fusedAdamW },
            OptimizerKind.Adam => optim.Adam(Groups((ps, lr, wd) => new Adam.ParamGroup(ps, lr, 0.9, 0.999, 1e-8, wd, false, false)), o.Lr),
            _ => optim.SGD(Groups((ps, lr, wd) => new SGD.ParamGroup(ps, lr, o.Momentum, 0, wd, false, false)), o.Lr),
        };
        return (optimizer, rates);

        List<TGroup> Groups<TGroup>(Func<List<Parameter>, double, double, TGroup> make) =>
            mixing.Count > 0 ? [make(body, o.Lr, o.WeightDecay), make(heads, headLr, o.WeightDecay), make(mixing, o.Lr, 0)]
                             : [make(body, o.Lr, o.WeightDecay), make(heads, headLr, o.WeightDecay)];
    }
}
