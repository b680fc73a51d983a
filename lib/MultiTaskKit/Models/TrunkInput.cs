using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>
/// What a trunk reads. Text trunks (BERT) read <see cref="InputIds"/> and <see cref="AttentionMask"/>;
/// feature trunks (MLP) read <see cref="Features"/>. Tensors are [batch, ...] and already on the model's device.
/// </summary>
public sealed record TrunkInput(Tensor? Features = null, Tensor? InputIds = null, Tensor? AttentionMask = null, Tensor? TokenTypeIds = null)
{
    public static TrunkInput FromFeatures(Tensor features) => new(Features: features);
    public static TrunkInput FromTokens(Tensor inputIds, Tensor attentionMask, Tensor? tokenTypeIds = null) =>
        new(InputIds: inputIds, AttentionMask: attentionMask, TokenTypeIds: tokenTypeIds);

    /// <summary>Rows in the batch.</summary>
    public long BatchSize => (Features ?? InputIds ?? throw new InvalidOperationException("TrunkInput holds neither features nor token ids")).shape[0];
}

/// <summary>
/// The state that flows between trunk layers: the hidden tensor ([batch, features] or [batch, tokens, hidden])
/// and, for token sequences, the attention mask ([batch, tokens], 1 = real token).
/// </summary>
public sealed record HiddenState(Tensor Hidden, Tensor? AttentionMask = null);

/// <summary>
/// A trunk that can be cut between layers, so that one model code serves every sharing plan:
/// <c>Stem</c> (embeddings or input projection), then <c>Layers[0..L)</c>, then <c>Pool</c> to [batch, OutputSize].
/// A plan that shares the lower k layers runs the stem and layers [0, k) once, then gives each task its own
/// copies (<see cref="CloneLayer"/>) of layers [k, L) and of the pool.
/// </summary>
public interface ISplittableTrunk
{
    /// <summary>Embeddings or input projection.</summary>
    nn.Module<TrunkInput, HiddenState> Stem { get; }

    /// <summary>The stacked layers, bottom first.</summary>
    IReadOnlyList<nn.Module<HiddenState, HiddenState>> Layers { get; }

    /// <summary>From the top layer's state to one vector per row. May hold parameters (BERT's pooler).</summary>
    nn.Module<HiddenState, Tensor> Pool { get; }

    /// <summary>Size of the pooled vector.</summary>
    long OutputSize { get; }

    /// <summary>A fresh module with the same architecture and a copy of the weights of layer <paramref name="index"/>.</summary>
    nn.Module<HiddenState, HiddenState> CloneLayer(int index);

    /// <summary>A fresh pool with a copy of the pool's weights.</summary>
    nn.Module<HiddenState, Tensor> ClonePool();

    /// <summary>A fresh stem with a copy of the stem's weights (used by the isolated plan).</summary>
    nn.Module<TrunkInput, HiddenState> CloneStem();
}
