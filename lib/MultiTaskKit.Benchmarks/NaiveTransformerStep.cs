using MultiTaskKit.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Benchmarks;

/// <summary>
/// The naive baseline: the case study's two-task step assembled from TorchSharp's stock <c>nn.TransformerEncoder</c>
/// (libtorch's own post-LayerNorm layer, GELU, dropout everywhere PyTorch puts it). BERT-style embeddings and the
/// lower <see cref="TransformerShape.Split"/> layers are shared; each task has its own upper layers, mean pooling and a
/// head. Task 0 is classification (cross-entropy, 2 classes), every other task regression (MSE). This is what a user
/// gets by writing the model the obvious way; the kit's own BERT must beat it.
/// </summary>
public sealed class NaiveTransformerStep : BenchStep
{
    readonly NaiveMultiTaskTransformer model;
    readonly Tensor[] ids;
    readonly Tensor labels;
    readonly Tensor targets;

    public NaiveTransformerStep(TransformerShape shape, IReadOnlyList<BatchShape> tasks, long seed = 0)
        : base("naive nn.TransformerEncoder", shape, tasks)
    {
        torch.manual_seed(seed);
        model = new NaiveMultiTaskTransformer(shape, tasks.Count);
        model.to(TorchRuntime.DefaultDevice);
        model.train();
        var g = new Generator((ulong)seed, TorchRuntime.DefaultDevice);
        ids = tasks.Select(t => RandomIds(t, shape.Vocab, g)).ToArray();
        labels = randint(0, 2, new long[] { tasks[0].Batch }, dtype: int64, device: TorchRuntime.DefaultDevice, generator: g);
        targets = randn(new long[] { tasks.Max(t => t.Batch) }, device: TorchRuntime.DefaultDevice, generator: g);
    }

    public override nn.Module Model => model;

    public override Tensor Loss()
    {
        using var scope = NewDisposeScope();
        Tensor? total = null;
        for (int t = 0; t < ids.Length; t++)
        {
            var output = model.TaskOutput(t, ids[t]);
            var loss = t == 0
                ? nn.functional.cross_entropy(output, labels)
                : nn.functional.mse_loss(output.squeeze(-1), targets.narrow(0, 0, Tasks[t].Batch));
            total = total is null ? loss : total + loss;
        }
        return total!.MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var t in ids) t.Dispose();
            labels.Dispose();
            targets.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>The model behind <see cref="NaiveTransformerStep"/>: stock encoder layers, sequence-first as libtorch wants them.</summary>
public sealed class NaiveMultiTaskTransformer : nn.Module
{
    readonly Embedding word_embeddings;
    readonly Embedding position_embeddings;
    readonly Embedding token_type_embeddings;
    readonly LayerNorm LayerNorm; // the checkpoint's spelling, kept for parity with BERT
    readonly Dropout dropout;
    readonly TransformerEncoder? shared; // null when nothing is shared (split 0)
    readonly ModuleList<TransformerEncoder> upper;
    readonly ModuleList<Linear> heads;

    public NaiveMultiTaskTransformer(TransformerShape shape, int taskCount) : base(nameof(NaiveMultiTaskTransformer))
    {
        word_embeddings = nn.Embedding(shape.Vocab, shape.Hidden);
        position_embeddings = nn.Embedding(shape.MaxPositions, shape.Hidden);
        token_type_embeddings = nn.Embedding(2, shape.Hidden);
        LayerNorm = nn.LayerNorm(shape.Hidden, eps: 1e-12);
        dropout = nn.Dropout(shape.Dropout);
        shared = shape.Split > 0 ? nn.TransformerEncoder(Layer(shape), shape.Split) : null;
        upper = new ModuleList<TransformerEncoder>(Enumerable.Range(0, taskCount)
            .Select(_ => nn.TransformerEncoder(Layer(shape), shape.Layers - shape.Split)).ToArray());
        heads = new ModuleList<Linear>(Enumerable.Range(0, taskCount)
            .Select(t => nn.Linear(shape.Hidden, t == 0 ? 2 : 1)).ToArray());
        RegisterComponents();
    }

    static TransformerEncoderLayer Layer(TransformerShape s) =>
        nn.TransformerEncoderLayer(s.Hidden, s.Heads, s.Ffn, s.Dropout, nn.Activations.GELU);

    /// <summary>Task <paramref name="task"/>'s output for token ids [batch, tokens] (every token real, so no mask).</summary>
    public Tensor TaskOutput(int task, Tensor ids)
    {
        using var scope = NewDisposeScope();
        var positions = arange(ids.shape[1], dtype: int64, device: ids.device).unsqueeze(0);
        var x = word_embeddings.call(ids) + position_embeddings.call(positions) + token_type_embeddings.call(zeros_like(ids));
        x = dropout.call(LayerNorm.call(x)).transpose(0, 1); // [tokens, batch, hidden]
        if (shared is not null) x = shared.call(x, null, null);
        x = upper[task].call(x, null, null);
        return heads[task].call(x.mean(new long[] { 0 })).MoveToOuterDisposeScope();
    }
}
