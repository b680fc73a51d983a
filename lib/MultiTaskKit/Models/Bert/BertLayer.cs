using MultiTaskKit.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>
/// The feed-forward expansion with its activation (Hugging Face <c>BertIntermediate</c>). Under mixed precision the
/// product and the activation run in the compute dtype: the result only feeds <see cref="BertOutput"/>'s product.
/// </summary>
public sealed class BertIntermediate : nn.Module<Tensor, Tensor>, IMixedPrecisionModule
{
    readonly Linear dense;
    readonly Func<Tensor, Tensor> activation;

    public BertIntermediate(BertConfig config) : base("intermediate")
    {
        dense = nn.Linear(config.HiddenSize, config.IntermediateSize);
        activation = BertActivation.Get(config.HiddenAct);
        RegisterComponents();
    }

    public ScalarType? ComputeType { get; set; }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return activation(MixedPrecision.Linear(dense, hidden, ComputeType)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The feed-forward contraction, dropout and residual LayerNorm (Hugging Face <c>BertOutput</c>). As in
/// <see cref="BertSelfOutput"/>, the product may run in the compute dtype and the residual sum is float32.
/// </summary>
public sealed class BertOutput : nn.Module<Tensor, Tensor, Tensor>, IMixedPrecisionModule
{
    readonly Linear dense;
    // Capitalised to match the checkpoint key encoder.layer.N.output.LayerNorm.weight.
    readonly LayerNorm LayerNorm;
    readonly FastDropout dropout;

    public BertOutput(BertConfig config) : base("output")
    {
        dense = nn.Linear(config.IntermediateSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = new FastDropout(config.HiddenDropoutProb, config.Kernels.FastDropout);
        RegisterComponents();
    }

    public ScalarType? ComputeType { get; set; }

    public override Tensor forward(Tensor intermediate, Tensor residual)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.forward(dropout.AddTo(MixedPrecision.Linear(dense, intermediate, ComputeType), residual)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// One transformer layer (Hugging Face <c>BertLayer</c>). It reads and returns a <see cref="HiddenState"/>, so it is
/// directly one of the trunk's layers, and a sharing plan can run any range of layers or clone one.
/// </summary>
public sealed class BertLayer : nn.Module<HiddenState, HiddenState>
{
    readonly BertAttention attention;
    readonly BertIntermediate intermediate;
    readonly BertOutput output;

    public BertConfig Config { get; }

    public BertLayer(BertConfig config) : base("layer")
    {
        Config = config.Validate();
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertOutput(config);
        RegisterComponents();
    }

    public override HiddenState forward(HiddenState state)
    {
        using var scope = NewDisposeScope();
        var hidden = state.Hidden;
        var keyMask = KeyMask(state.AttentionMask, hidden.shape[0], hidden.shape[1]);
        var attended = attention.forward(hidden, keyMask);
        var result = output.forward(intermediate.forward(attended), attended);
        return new HiddenState(result.MoveToOuterDisposeScope(), state.AttentionMask);
    }

    /// <summary>[batch, tokens] mask to SDPA's boolean [batch, 1, 1, tokens] (a view when the stem already made it boolean).</summary>
    static Tensor? KeyMask(Tensor? mask, long batch, long tokens)
    {
        if (mask is null) return null;
        var b = mask.dtype == ScalarType.Bool ? mask : mask.ne(Scalars.ZeroInt64);
        return b.view(batch, 1, 1, tokens);
    }
}
