using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>
/// Multi-head self-attention (Hugging Face <c>BertSelfAttention</c>). Without dropout it runs torch's fused
/// <c>scaled_dot_product_attention</c>; with attention dropout on CPU, <see cref="BertAttentionKernel"/>'s explicit
/// chain with a <see cref="FastDropout"/> mask, which is cheaper than the fused entry point's fallback
/// (<c>bench/README.md</c> has the figures). Query, key and value stay three <c>Linear</c> modules so the checkpoint
/// keys are unchanged; fusing them into one product in training bought nothing.
/// Under mixed precision (<see cref="MixedPrecision"/>) the projections and the attention products run in the compute
/// dtype and so does the returned context.
/// </summary>
public sealed class BertSelfAttention : nn.Module<Tensor, Tensor?, Tensor>, IMixedPrecisionModule
{
    readonly Linear query;
    readonly Linear key;
    readonly Linear value;
    readonly int heads, headSize;
    readonly double attentionDropout;
    readonly Runtime.KernelOptions kernels;

    public BertSelfAttention(BertConfig config) : base("self")
    {
        heads = config.NumAttentionHeads;
        headSize = config.HeadSize;
        attentionDropout = config.AttentionProbsDropoutProb;
        kernels = config.Kernels;
        query = nn.Linear(config.HiddenSize, config.HiddenSize);
        key = nn.Linear(config.HiddenSize, config.HiddenSize);
        value = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public ScalarType? ComputeType { get; set; }

    /// <param name="hidden">[batch, tokens, hidden].</param>
    /// <param name="keyMask">Boolean [batch, 1, 1, tokens], true where a key may be attended to; null attends everywhere.</param>
    public override Tensor forward(Tensor hidden, Tensor? keyMask)
    {
        using var scope = NewDisposeScope();
        long b = hidden.shape[0], t = hidden.shape[1];
        Tensor q, k, v;
        // Cast once for the three projections (the same tensor when the product dtype is the input's).
        hidden = MixedPrecision.Cast(hidden, ComputeType);
        if (!is_grad_enabled())
        {
            // Inference: one product against the three weights stacked ([3·H·d, H·d], rebuilt per call so it can never be stale).
            // Each in the product dtype: cast once by an open MixedPrecision.CastWeightsForInference scope, else here.
            var parts = new[] { query, key, value }
                .Select(l => ComputeType is { } c ? MixedPrecision.WeightsIn(l, c) : (l.weight!, l.bias)).ToArray();
            var w = cat(parts.Select(p => p.Weight).ToArray(), 0);
            var bias = cat(parts.Select(p => p.Bias!).ToArray(), 0);
            var qkv = nn.functional.linear(hidden, w, bias).view(b, t, 3, heads, headSize).permute(2, 0, 3, 1, 4);
            (q, k, v) = (qkv[0], qkv[1], qkv[2]);
        }
        else
        {
            // [B, T, H·d] -> [B, H, T, d] as views; SDPA reads strided inputs, so no contiguous copy is made here.
            q = MixedPrecision.Linear(query, hidden, ComputeType).view(b, t, heads, headSize).transpose(1, 2);
            k = MixedPrecision.Linear(key, hidden, ComputeType).view(b, t, heads, headSize).transpose(1, 2);
            v = MixedPrecision.Linear(value, hidden, ComputeType).view(b, t, heads, headSize).transpose(1, 2);
        }
        var context = BertAttentionKernel.Attend(q, k, v, keyMask, training ? attentionDropout : 0.0, kernels);
        return context.transpose(1, 2).reshape(b, t, heads * headSize).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Projection, dropout and residual LayerNorm after self-attention (Hugging Face <c>BertSelfOutput</c>). Under mixed
/// precision the projection runs in the compute dtype; adding the float32 residual promotes the sum to float32, so the
/// residual stream and LayerNorm stay float32.
/// </summary>
public sealed class BertSelfOutput : nn.Module<Tensor, Tensor, Tensor>, IMixedPrecisionModule
{
    readonly Linear dense;
    // Capitalised to match the checkpoint key ...attention.output.LayerNorm.weight.
    readonly LayerNorm LayerNorm;
    readonly FastDropout dropout;

    public BertSelfOutput(BertConfig config) : base("output")
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = new FastDropout(config.HiddenDropoutProb, config.Kernels.FastDropout);
        RegisterComponents();
    }

    public ScalarType? ComputeType { get; set; }

    public override Tensor forward(Tensor context, Tensor residual)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.forward(dropout.AddTo(MixedPrecision.Linear(dense, context, ComputeType), residual)).MoveToOuterDisposeScope();
    }
}

/// <summary>Self-attention plus its output block (Hugging Face <c>BertAttention</c>).</summary>
public sealed class BertAttention : nn.Module<Tensor, Tensor?, Tensor>
{
    // "self" is the checkpoint's name (encoder.layer.N.attention.self.query.weight); not a C# keyword.
    readonly BertSelfAttention self;
    readonly BertSelfOutput output;

    public BertAttention(BertConfig config) : base("attention")
    {
        self = new BertSelfAttention(config);
        output = new BertSelfOutput(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor? keyMask)
    {
        using var scope = NewDisposeScope();
        return output.forward(self.forward(hidden, keyMask), hidden).MoveToOuterDisposeScope();
    }
}
