namespace MultiTaskKit.Benchmarks;

/// <summary>One task's batch in a benchmarked step: <see cref="Batch"/> rows of <see cref="Tokens"/> tokens.</summary>
public sealed record BatchShape(int Batch, int Tokens)
{
    public long TokenCount => (long)Batch * Tokens;
    public override string ToString() => $"{Batch}x{Tokens}";
}

/// <summary>
/// The encoder shape the benchmarks build: a BERT-style stack of <see cref="Layers"/> post-LayerNorm layers, the lower
/// <see cref="Split"/> shared by all tasks and the rest copied per task. <see cref="MiniLM"/> is the case study's trunk
/// (all-MiniLM-L6-v2: hidden 384, 12 heads, FFN 1536, 6 layers, BERT's uncased vocabulary).
/// </summary>
public sealed record TransformerShape(int Vocab, int Hidden, int Heads, int Ffn, int Layers, int Split, double Dropout = 0.1, int MaxPositions = 512)
{
    /// <summary>Dropout on the attention probabilities; null: <see cref="Dropout"/>, as BERT's configs have it.</summary>
    public double? AttentionDropout { get; init; }

    public static TransformerShape MiniLM { get; } = new(30522, 384, 12, 1536, 6, 2);

    /// <summary>A tiny shape for tests: every code path, none of the cost.</summary>
    public static TransformerShape Tiny { get; } = new(99, 32, 4, 64, 3, 1);

    /// <summary>Weights of the linear maps in one layer: Q, K, V and the attention output (h×h each), then the FFN's two (h×f).</summary>
    public long LinearParametersPerLayer => 4L * Hidden * Hidden + 2L * Hidden * Ffn;

    public void Validate()
    {
        if (Hidden % Heads != 0) throw new ArgumentException($"TransformerShape: hidden size {Hidden} is not a multiple of the head count {Heads}.");
        if (Split < 0 || Split > Layers) throw new ArgumentException($"TransformerShape: expected a split between 0 and {Layers} layers, found {Split}.");
        if (Vocab < 2 || Hidden < 1 || Ffn < 1 || Layers < 1) throw new ArgumentException($"TransformerShape: every size must be positive, found {this}.");
    }
}

/// <summary>
/// Counts the matrix floating-point operations of a training step, the figure that achieved GFLOP/s divides.
/// Every token goes through all layers of its task's path (shared lower plus its own upper), so per task:
/// 6 × (linear parameters per layer) × layers × tokens (forward 2, backward 4), plus the two attention products
/// QKᵀ and PV, each 2·b·s²·h forward, ×3 with the backward. Embedding lookups, LayerNorm, softmax and the tiny
/// heads are not matrix products and are left out, so the figure is a slight undercount of the work done.
/// </summary>
public static class StepFlops
{
    public static double Training(TransformerShape shape, IEnumerable<BatchShape> tasks) =>
        tasks.Sum(t => 3.0 * ForwardPerTask(shape, t));

    public static double Forward(TransformerShape shape, IEnumerable<BatchShape> tasks) =>
        tasks.Sum(t => ForwardPerTask(shape, t));

    /// <summary>Only the two attention products, forward and backward.</summary>
    public static double AttentionTraining(TransformerShape shape, IEnumerable<BatchShape> tasks) =>
        tasks.Sum(t => 3.0 * AttentionForward(shape, t));

    static double ForwardPerTask(TransformerShape shape, BatchShape t) =>
        2.0 * shape.LinearParametersPerLayer * shape.Layers * t.TokenCount + AttentionForward(shape, t);

    static double AttentionForward(TransformerShape shape, BatchShape t) =>
        2 * (2.0 * t.Batch * t.Tokens * (double)t.Tokens * shape.Hidden) * shape.Layers;
}
