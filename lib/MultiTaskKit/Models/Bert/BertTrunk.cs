using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>
/// A <see cref="BertModel"/> seen as an <see cref="ISplittableTrunk"/>: the stem is the embeddings, the layers are
/// the encoder's layers (the very modules of the model, so training them trains the model), and the pool is mean
/// pooling under the attention mask (default), the [CLS] vector, or Hugging Face's pooler.
/// The case study shares the stem and layers [0, 2) and clones layers [2, L) and the pool per task.
/// </summary>
public sealed class BertTrunk : ISplittableTrunk
{
    readonly nn.Module<HiddenState, Tensor> pool;

    public BertTrunk(BertModel model, BertPooling pooling = BertPooling.Mean)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Pooling = pooling;
        pool = pooling switch
        {
            BertPooling.Mean => new MeanPooling(),
            BertPooling.Cls => new ClsPooling(),
            BertPooling.Pooler => model.Pooler ?? throw new ArgumentException(
                "BertTrunk: pooling 'Pooler' needs the checkpoint's pooler.dense weights, and this model has none; use Mean or Cls.", nameof(pooling)),
            _ => throw new ArgumentOutOfRangeException(nameof(pooling), pooling, "expected Mean, Cls or Pooler"),
        };
    }

    /// <summary>The whole model whose parts this trunk exposes.</summary>
    public BertModel Model { get; }

    public BertConfig Config => Model.Config;

    public BertPooling Pooling { get; }

    public nn.Module<TrunkInput, HiddenState> Stem => Model.Embeddings;

    public IReadOnlyList<nn.Module<HiddenState, HiddenState>> Layers => Model.Encoder.Layers;

    public nn.Module<HiddenState, Tensor> Pool => pool;

    public long OutputSize => Config.HiddenSize;

    public nn.Module<HiddenState, HiddenState> CloneLayer(int index)
    {
        var layers = Model.Encoder.Layers;
        if (index < 0 || index >= layers.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"BertTrunk: expected a layer index in [0, {layers.Count}).");
        return CopyOf(layers[index], new BertLayer(Config));
    }

    public nn.Module<HiddenState, Tensor> ClonePool() => Pooling switch
    {
        BertPooling.Mean => new MeanPooling(),
        BertPooling.Cls => new ClsPooling(),
        _ => CopyOf(Model.Pooler!, new BertPooler(Config)),
    };

    public nn.Module<TrunkInput, HiddenState> CloneStem() => CopyOf(Model.Embeddings, new BertEmbeddings(Config));

    /// <summary>Copies weights, device, training mode and product precision of <paramref name="source"/> into <paramref name="fresh"/>.</summary>
    static T CopyOf<T>(nn.Module source, T fresh) where T : nn.Module
    {
        var from = source.state_dict();
        var device = from.Values.FirstOrDefault()?.device;
        if (device is not null && device.type != DeviceType.CPU) fresh.to(device);
        using (no_grad())
            foreach (var (key, target) in fresh.state_dict())
                target.copy_(from[key]);
        fresh.train(source.training);
        MixedPrecision.CopyTo(source, fresh);
        return fresh;
    }
}
