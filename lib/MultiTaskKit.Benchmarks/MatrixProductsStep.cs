using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Benchmarks;

/// <summary>
/// The matrix products of the case-study training step and nothing else: for every task and layer, the six linear maps
/// forward (x·Wᵀ), their input gradients (g·W) and weight gradients (gᵀ·x), and the two attention products with their
/// four backward products, at the step's shapes and in the layouts autograd multiplies them. No bias, activation,
/// normalisation, softmax, dropout, embedding or optimiser work. Timed interleaved with the real step, its time is the
/// floor for any step built on libtorch's matrix multiply in that run, and the same FLOP count divides both. In bf16 it
/// is the floor of the mixed-precision step, whose products are these in bf16.
/// </summary>
public sealed class MatrixProductsStep : ITimedStep, IDisposable
{
    readonly List<Tensor> owned = new();
    readonly List<Operands> operands = new();
    readonly TransformerShape shape;

    sealed record Operands(Tensor Hidden, Tensor Wide, Tensor GradHidden, Tensor GradWide,
        Tensor Q, Tensor K, Tensor V, Tensor Probs, Tensor GradContext, Tensor GradScores, Tensor[][] Weights);

    /// <param name="dtype">The operands' dtype: float32, or bfloat16 for the mixed-precision floor.</param>
    public MatrixProductsStep(TransformerShape shape, IReadOnlyList<BatchShape> batches, long seed = 0, ScalarType dtype = ScalarType.Float32)
    {
        shape.Validate();
        if (batches.Count == 0) throw new ArgumentException("MatrixProductsStep: expected at least one task batch, found none.", nameof(batches));
        this.shape = shape;
        Tasks = batches;
        Dtype = dtype;
        torch.manual_seed(seed);
        int h = shape.Hidden, f = shape.Ffn, heads = shape.Heads, d = shape.Hidden / shape.Heads;
        foreach (var b in batches)
        {
            long rows = b.TokenCount;
            Tensor R(params long[] size) { var t = randn(size, device: TorchRuntime.DefaultDevice).to(dtype); owned.Add(t); return t; }
            // One set of weights per layer ([out, in] as nn.Linear keeps them: Q, K, V, output, FFN up, FFN down).
            var weights = Enumerable.Range(0, shape.Layers).Select(_ => new[] { R(h, h), R(h, h), R(h, h), R(h, h), R(f, h), R(h, f) }).ToArray();
            operands.Add(new Operands(R(rows, h), R(rows, f), R(rows, h), R(rows, f),
                R(b.Batch, heads, b.Tokens, d), R(b.Batch, heads, b.Tokens, d), R(b.Batch, heads, b.Tokens, d),
                R(b.Batch, heads, b.Tokens, b.Tokens), R(b.Batch, heads, b.Tokens, d), R(b.Batch, heads, b.Tokens, b.Tokens), weights));
        }
    }

    public string Name => Dtype == ScalarType.Float32 ? "the step's matrix products alone" : $"the step's matrix products alone, {GemmBench.DtypeName(Dtype)}";

    /// <summary>The operands' dtype.</summary>
    public ScalarType Dtype { get; }
    public IReadOnlyList<BatchShape> Tasks { get; }
    public long TokensPerStep => Tasks.Sum(t => t.TokenCount);
    public double TrainingFlops => StepFlops.Training(shape, Tasks);

    public void SetTraining(bool training) { }

    /// <summary>The FLOPs of the products the last <see cref="Step"/> ran, counted from their operands (2·m·k·n each).</summary>
    public double LastStepFlops { get; private set; }

    public void Step()
    {
        using var scope = NewDisposeScope();
        double flops = 0;
        void Product(Tensor a, Tensor b)
        {
            using var c = matmul(a, b);
            flops += 2.0 * a.numel() * b.shape[^1];
        }
        // One linear map's three products: y = x·Wᵀ, dx = g·W, dW = gᵀ·x.
        void Linear(Tensor input, Tensor weight, Tensor gradOutput)
        {
            Product(input, weight.t());
            Product(gradOutput, weight);
            Product(gradOutput.t(), input);
        }
        foreach (var x in operands)
            foreach (var w in x.Weights)
            {
                // Forward: Q, K, V and the output map read and write [rows, h]; FFN up writes [rows, f]; down reads it.
                for (int i = 0; i < 4; i++) Linear(x.Hidden, w[i], x.GradHidden);
                Linear(x.Hidden, w[4], x.GradWide);
                Linear(x.Wide, w[5], x.GradHidden);
                // Attention: S = Q·Kᵀ and C = P·V forward; dP = dC·Vᵀ, dV = Pᵀ·dC, dQ = dS·K, dK = dSᵀ·Q backward.
                Product(x.Q, x.K.transpose(-1, -2));
                Product(x.Probs, x.V);
                Product(x.GradContext, x.V.transpose(-1, -2));
                Product(x.Probs.transpose(-1, -2), x.GradContext);
                Product(x.GradScores, x.K);
                Product(x.GradScores.transpose(-1, -2), x.Q);
            }
        LastStepFlops = flops;
    }

    public void Dispose()
    {
        foreach (var t in owned) t.Dispose();
        owned.Clear();
    }
}
