using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Optim;

/// <summary>
/// AdamW (Loshchilov and Hutter, ICLR 2019) that leaves nothing behind for the garbage collector. It is TorchSharp's
/// <see cref="AdamW"/>: the same parameter groups, state, <c>state_dict</c>, checkpoints and learning-rate control,
/// and the same arithmetic in the same order, so it gives the same numbers bit for bit. Only the step differs:
/// <list type="bullet">
/// <item>every scalar operand is a <see cref="Scalar"/> disposed at once. The stock step converts doubles
/// implicitly, and each converted scalar lives until a finalizer runs. Those small native blocks, interleaved with
/// the freed gradient and temporary buffers, keep glibc from reusing the memory, and resident memory grows with every
/// step until .NET happens to collect (<c>bench/README.md</c>, "Memory over long runs");</item>
/// <item>the square-root denominator is divided and shifted in place: one temporary per parameter instead of two.</item>
/// </list>
/// AMSGrad and maximize are not supported (the kit's trainer uses neither).
/// </summary>
public sealed class LeanAdamW : AdamW
{
    public LeanAdamW(IEnumerable<ParamGroup> groups, double lr) : base(groups, lr)
    {
        foreach (var g in groups)
            if (g.Options.amsgrad == true || g.Options.maximize == true)
                throw new ArgumentException("LeanAdamW: amsgrad and maximize are not supported; use torch.optim.AdamW for them.", nameof(groups));
    }

    public LeanAdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double weightDecay = 0.01)
        : this([new ParamGroup(parameters, lr, 0.9, 0.999, 1e-8, weightDecay, false, false)], lr) { }

    /// <summary>
    /// Update float32 CPU parameters with <see cref="AdamWKernel"/> (one pass per cache-sized chunk, the same numbers);
    /// false runs libtorch's operations one by one. Default true; <see cref="Runtime.KernelOptions.FusedAdamW"/> sets it
    /// for the trainer.
    /// </summary>
    public bool Fused { get; set; } = true;

    public override Tensor step(Func<Tensor>? closure = null)
    {
        Tensor? loss = null;
        if (closure is not null)
            using (enable_grad()) loss = closure();
        using var _ = no_grad();
        foreach (var group in ParamGroups.Cast<ParamGroup>())
        {
            var o = group.Options;
            double beta1 = o.beta1!.Value, beta2 = o.beta2!.Value, eps = o.eps!.Value, decay = o.weight_decay!.Value, lr = o.LearningRate!.Value;
            using var keepFraction = (1.0 - lr * decay).ToScalar();
            using var b1 = beta1.ToScalar();
            using var b2 = beta2.ToScalar();
            using var oneMinusB1 = (1.0 - beta1).ToScalar();
            using var oneMinusB2 = (1.0 - beta2).ToScalar();
            using var epsilon = eps.ToScalar();
            foreach (var p in group.Parameters)
            {
                using var grad = p.grad;
                if (grad is null) continue;
                var state = (State)_state[p.Handle];
                state.step += 1;
                double bias1 = 1 - Math.Pow(beta1, state.step), bias2 = 1 - Math.Pow(beta2, state.step);
                if (Fused && AdamWKernel.TryStep(p, grad, state.exp_avg, state.exp_avg_sq,
                        AdamWKernel.Coefficients.Of(lr, decay, beta1, beta2, eps, Math.Sqrt(bias2), -lr / bias1)))
                    continue;
                p.mul_(keepFraction);
                state.exp_avg.mul_(b1).add_(grad, oneMinusB1);
                state.exp_avg_sq.mul_(b2).addcmul_(grad, grad, oneMinusB2);
                using var root = Math.Sqrt(bias2).ToScalar();
                using var stepSize = (-lr / bias1).ToScalar();
                using var denominator = state.exp_avg_sq.sqrt();
                denominator.div_(root).add_(epsilon);
                p.addcdiv_(state.exp_avg, denominator, stepSize);
            }
        }
        return loss!;
    }
}
