using MultiTaskKit.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>
/// A module whose matrix products may run in a lower precision than its float32 parameters. The setting is part of
/// the module, as <c>train()</c>/<c>eval()</c> is: <see cref="MixedPrecision.Apply{T}"/> sets it on a whole tree.
/// </summary>
public interface IMixedPrecisionModule
{
    /// <summary>The dtype of the module's matrix products; null runs them in the parameters' own dtype (float32).</summary>
    ScalarType? ComputeType { get; set; }
}

/// <summary>
/// Mixed precision without autocast (TorchSharp has none): the modules that multiply cast their operands themselves.
/// <para>What runs in bfloat16 under <see cref="Precision.Bf16"/>, in the BERT trunk:</para>
/// <list type="bullet">
/// <item>every <c>Linear</c> of the encoder layers (query, key, value, attention output, feed-forward up and down): the
/// input and the float32 weight and bias are cast to bf16 at the call, so forward and both backward products (input
/// and weight gradient) run on libtorch's bf16 GEMM. The cast is an autograd operation, so its backward turns the bf16
/// weight gradient back into float32 for the float32 master parameter: optimizer state and update stay float32;</item>
/// <item>the attention products QKᵀ and PV, and the activations between two products (Q, K, V, the attention
/// context, the feed-forward expansion after GELU), which also halves the memory they keep for backward.</item>
/// </list>
/// <para>What stays float32, and why:</para>
/// <list type="bullet">
/// <item>the residual stream and LayerNorm: a product's bf16 output is added to the float32 residual, and type
/// promotion makes the sum float32 in the same pass (no separate cast). The stream is a running sum of small updates
/// that bf16's 8-bit significand would round away (an update below 1/256 of the stream is lost), and LayerNorm's mean
/// and variance over the hidden width need more than 8 bits to stay stable;</item>
/// <item>softmax arithmetic: exponentials of scores that differ by less than bf16's spacing would tie, and the row
/// sums lose the small probabilities. In training the scores are cast up and masked, normalised and dropped in float32
/// (the kit's <c>SoftmaxDropout</c> kernel, a measured choice, see <c>bench/README.md</c>); libtorch's fused attention,
/// used without dropout, accumulates in float32 itself; at inference libtorch's softmax reads the bf16 scores and
/// computes in float32 inside, writing bf16 probabilities for the next product
/// (<see cref="Bert.BertAttentionKernel"/>);</item>
/// <item>embeddings (a gather, no product), pooling, the task heads and every loss: small, and where a rounding error
/// reaches the loss and the task gradients directly. Gradient methods therefore see float32 task gradients.</item>
/// </list>
/// </summary>
public static class MixedPrecision
{
    /// <summary>The dtype of the products under <paramref name="precision"/>; null for float32. <see cref="Precision.Auto"/> must be resolved first.</summary>
    public static ScalarType? ComputeTypeOf(Precision precision) => precision switch
    {
        Precision.Fp32 => null,
        Precision.Bf16 => ScalarType.BFloat16,
        _ => throw new ArgumentException($"precision: resolve '{precision.Name()}' to fp32 or bf16 first (PrecisionProbe.Resolve).", nameof(precision)),
    };

    /// <summary>Sets <paramref name="precision"/> on <paramref name="module"/> and every module below it; returns the module.</summary>
    public static T Apply<T>(T module, Precision precision) where T : nn.Module
    {
        ArgumentNullException.ThrowIfNull(module);
        var compute = ComputeTypeOf(precision);
        foreach (var m in Tree(module)) m.ComputeType = compute;
        return module;
    }

    /// <summary><see cref="Precision.Bf16"/> when any module of the tree multiplies in bf16, else <see cref="Precision.Fp32"/>.</summary>
    public static Precision Of(nn.Module module) =>
        Tree(module).Any(m => m.ComputeType == ScalarType.BFloat16) ? Precision.Bf16 : Precision.Fp32;

    /// <summary>Copies the product dtype of <paramref name="source"/>'s tree onto <paramref name="target"/>'s (for clones of a trunk part).</summary>
    public static void CopyTo(nn.Module source, nn.Module target)
    {
        var compute = Tree(source).Select(m => m.ComputeType).FirstOrDefault(c => c is not null);
        foreach (var m in Tree(target)) m.ComputeType = compute;
    }

    static IEnumerable<IMixedPrecisionModule> Tree(nn.Module root)
    {
        if (root is IMixedPrecisionModule self) yield return self;
        foreach (var (_, child) in root.named_modules())
            if (!ReferenceEquals(child, root) && child is IMixedPrecisionModule m) yield return m;
    }

    /// <summary>A Linear's weight and bias cast once to the product dtype.</summary>
    public sealed record CastWeights(Tensor Weight, Tensor? Bias);

    // The copies of the open inference scopes, per flow of execution (thread or async flow), as libtorch keeps
    // no_grad per thread: a model evaluated on another thread, or a second model in the same process, neither sees nor
    // frees them. Scopes of one flow share one table.
    static readonly AsyncLocal<Dictionary<Linear, CastWeights>?> inferenceCasts = new();

    static Dictionary<Linear, CastWeights> CastTable() =>
        inferenceCasts.Value ??= new Dictionary<Linear, CastWeights>(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// The weights of <paramref name="layer"/> cast to <paramref name="compute"/> by a <see cref="CastWeightsForInference"/>
    /// scope open in this flow of execution, when gradients are off; else null (cast at the call).
    /// </summary>
    public static CastWeights? CastForInference(Linear layer, ScalarType compute) =>
        !is_grad_enabled() && inferenceCasts.Value is { } table && table.TryGetValue(layer, out var cast) && cast.Weight.dtype == compute ? cast : null;

    /// <summary>
    /// For inference over many batches (evaluation, prediction): casts the weights and biases of every Linear of the
    /// modules below <paramref name="model"/> that multiply in a lower precision, once, instead of at every call (the
    /// per-call cast reads the float32 weights and writes a bf16 copy: about 130 MB of memory traffic per MiniLM forward).
    /// The copies are used only while gradients are off (<c>no_grad</c>), so training inside the scope still casts at
    /// the call and reaches the float32 master weights. The weights must not change while the scope is open; disposing
    /// it frees the copies. Outputs are bit-identical to the per-call cast. A no-op for a float32 model.
    /// </summary>
    public static IDisposable CastWeightsForInference(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var table = CastTable();
        var owned = new List<Linear>();
        foreach (var m in Tree(model))
        {
            if (m.ComputeType is not { } c || m is not nn.Module module) continue;
            foreach (var (_, child) in module.named_children())
            {
                if (child is not Linear linear || linear.weight!.dtype == c || table.ContainsKey(linear)) continue;
                using (no_grad())
                using (NewDisposeScope())
                    table[linear] = new CastWeights(linear.weight!.to(c).DetachFromDisposeScope(), linear.bias?.to(c).DetachFromDisposeScope());
                owned.Add(linear);
            }
        }
        return new InferenceCastScope(table, owned);
    }

    sealed class InferenceCastScope(Dictionary<Linear, CastWeights> table, List<Linear> owned) : IDisposable
    {
        public void Dispose()
        {
            foreach (var linear in owned)
                if (table.Remove(linear, out var cast))
                {
                    cast.Weight.Dispose();
                    cast.Bias?.Dispose();
                }
            owned.Clear();
        }
    }

    /// <summary><paramref name="input"/> in the product dtype: the same tensor (a new handle) when it already is, or when <paramref name="compute"/> is null.</summary>
    public static Tensor Cast(Tensor input, ScalarType? compute) =>
        compute is { } c && input.dtype != c ? input.to(c) : input.alias();

    /// <summary>
    /// <paramref name="layer"/> applied to <paramref name="input"/> with the product in <paramref name="compute"/>:
    /// input, weight and bias cast (autograd carries float32 gradients back to the parameters). The result is in the
    /// product dtype; with <paramref name="compute"/> null it is the layer's own forward.
    /// </summary>
    public static Tensor Linear(Linear layer, Tensor input, ScalarType? compute)
    {
        if (compute is not { } c || layer.weight!.dtype == c) return layer.forward(input);
        using var scope = NewDisposeScope();
        var (weight, bias) = WeightsIn(layer, c);
        return nn.functional.linear(Cast(input, c), weight, bias).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <paramref name="layer"/>'s weight and bias in <paramref name="compute"/>: the copies of an open
    /// <see cref="CastWeightsForInference"/> scope when gradients are off, else cast at the call (an autograd operation,
    /// so gradients reach the float32 parameters). The caller owns neither: call it inside a dispose scope.
    /// </summary>
    public static (Tensor Weight, Tensor? Bias) WeightsIn(Linear layer, ScalarType compute) =>
        CastForInference(layer, compute) is { } cast ? (cast.Weight, cast.Bias) : (layer.weight!.to(compute), layer.bias?.to(compute));
}
