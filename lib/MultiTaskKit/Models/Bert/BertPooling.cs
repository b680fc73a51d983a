using MultiTaskKit.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>How a BERT trunk turns token vectors into one vector per row.</summary>
public enum BertPooling
{
    /// <summary>Mean of the token vectors under the attention mask (sentence-transformers' pooling; the default).</summary>
    Mean,
    /// <summary>The [CLS] token's vector.</summary>
    Cls,
    /// <summary>Hugging Face's pooler: tanh(dense([CLS])), trained by next-sentence prediction.</summary>
    Pooler,
}

/// <summary>Mean of the token vectors where the mask is set; padding contributes nothing. No parameters.</summary>
public sealed class MeanPooling : nn.Module<HiddenState, Tensor>
{
    public MeanPooling() : base("mean_pooling") { }

    public override Tensor forward(HiddenState state) => Pool(state.Hidden, state.AttentionMask);

    /// <summary>[batch, tokens, hidden] and [batch, tokens] (any dtype, nonzero = real token) to [batch, hidden].</summary>
    public static Tensor Pool(Tensor hidden, Tensor? mask)
    {
        if (mask is null) return hidden.mean([1L]);
        using var scope = NewDisposeScope();
        var weights = mask.to(hidden.dtype).unsqueeze(1);                        // [B, 1, T]
        var sums = bmm(weights, hidden).squeeze(1);                              // [B, H]
        // Same floor as sentence-transformers, so a row without real tokens gives zeros, not NaN.
        var counts = weights.sum(2).clamp_min(Scalars.PoolingFloor);                   // [B, 1]
        return (sums / counts).MoveToOuterDisposeScope();
    }
}

/// <summary>The [CLS] (first) token's vector. No parameters.</summary>
public sealed class ClsPooling : nn.Module<HiddenState, Tensor>
{
    public ClsPooling() : base("cls_pooling") { }

    public override Tensor forward(HiddenState state) => state.Hidden.select(1, 0);
}

/// <summary>Hugging Face <c>BertPooler</c>: tanh(dense(hidden[:, 0])).</summary>
public sealed class BertPooler : nn.Module<HiddenState, Tensor>
{
    readonly Linear dense;

    public BertPooler(BertConfig config) : base("pooler")
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(HiddenState state)
    {
        using var scope = NewDisposeScope();
        return dense.forward(state.Hidden.select(1, 0)).tanh().MoveToOuterDisposeScope();
    }
}
