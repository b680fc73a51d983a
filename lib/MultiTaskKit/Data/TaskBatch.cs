using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Data;

/// <summary>One example after tokenisation (<see cref="TaskInputEncoder"/>): its token ids (special tokens included,
/// already truncated), for pairs its token type ids, for words where each word starts, and its label (null: none).</summary>
public sealed record EncodedExample(int Index, long[] Ids, TaskLabel? Label)
{
    public int Length => Ids.Length;

    /// <summary>Segment ids (0 for <c>[CLS] a [SEP]</c>, 1 for <c>b [SEP]</c>) of a pair; null: one text, all 0.</summary>
    public long[]? TypeIds { get; init; }

    /// <summary>Token tasks: the position of each encoded word's first piece (words past the budget are absent).</summary>
    public int[]? WordStarts { get; init; }

    /// <summary>Token tasks: every word of the example (for what <c>predict</c> prints).</summary>
    public IReadOnlyList<string>? Words { get; init; }
}

/// <summary>
/// A padded batch of one task: token ids and attention mask as [rows, longest] int64 tensors (dynamic padding: the
/// batch is as wide as its longest row, not the task's maximum), and labels ([rows] int64) or targets ([rows] float32).
/// </summary>
public sealed class TaskBatch : IDisposable
{
    public required string Task { get; init; }
    public required TrunkInput Input { get; init; }
    /// <summary>The batch's targets, as the task's kind makes them (<see cref="TaskKind.Targets"/>).</summary>
    public required Tensor Targets { get; init; }
    public required IReadOnlyList<EncodedExample> Examples { get; init; }
    /// <summary>Real (unpadded) tokens in the batch.</summary>
    public long Tokens => Examples.Sum(e => (long)e.Length);
    public int Rows => Examples.Count;

    /// <summary>Pads <paramref name="examples"/> to the longest one, makes the targets its kind reads, and moves the tensors to <paramref name="device"/>.</summary>
    public static TaskBatch Build(TaskSignature task, IReadOnlyList<EncodedExample> examples, long padId, Device device)
    {
        if (examples.Count == 0) throw new ArgumentException($"task '{task.Name}': expected at least one example in a batch, found none.", nameof(examples));
        var input = Pad(examples, padId, device);
        var targets = task.Kind.Targets(task, examples, input.InputIds!.shape[1], device);
        return new TaskBatch { Task = task.Name, Input = input, Targets = targets, Examples = examples };
    }

    /// <summary>The token ids, attention mask and (for pairs) token type ids of <paramref name="examples"/>, padded to
    /// the longest, on <paramref name="device"/>.</summary>
    public static TrunkInput Pad(IReadOnlyList<EncodedExample> examples, long padId, Device device)
    {
        if (examples.Count == 0) throw new ArgumentException("examples: expected at least one example in a batch, found none.", nameof(examples));
        var padded = TokenBatch.Pad(examples.Select(e => e.Ids).ToList(), null, checked((int)padId));
        long[] shape = [padded.BatchSize, padded.Length];
        Tensor? types = null;
        if (examples.Any(e => e.TypeIds is not null))
            types = tensor(TokenBatch.PadRows(examples.Select(e => e.TypeIds ?? new long[e.Length]).ToList(), 0, padded.Length), shape, dtype: int64, device: device);
        return TrunkInput.FromTokens(tensor(padded.InputIds, shape, dtype: int64, device: device), tensor(padded.AttentionMask, shape, dtype: int64, device: device), types);
    }

    public void Dispose()
    {
        Input.InputIds?.Dispose();
        Input.AttentionMask?.Dispose();
        Input.TokenTypeIds?.Dispose();
        Targets.Dispose();
    }
}

/// <summary>
/// An endless, seeded stream of batches over one task's training examples. Each epoch is a fresh permutation derived
/// from (seed, task, epoch), so the stream's whole state is two integers (<see cref="Epoch"/>, <see cref="Position"/>)
/// and a resumed run continues exactly where a killed one stopped. With length bucketing, each window of
/// <see cref="BucketWindow"/> batches is sorted by length before it is cut into batches, and the batches are shuffled
/// again, so that rows of similar length share a batch (less padding) while the order stays random.
/// </summary>
public sealed class TaskStream
{
    readonly IReadOnlyList<EncodedExample> examples;
    readonly ulong seed;
    List<int[]> epochBatches = [];

    public TaskStream(string task, IReadOnlyList<EncodedExample> examples, int batchSize, ulong seed, bool lengthBucketing = false, int bucketWindow = 50)
    {
        if (examples.Count == 0) throw new ArgumentException($"task '{task}': expected training examples, found none.", nameof(examples));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"task '{task}': expected a batch size of at least 1");
        Task = task;
        this.examples = examples;
        BatchSize = batchSize;
        this.seed = seed;
        LengthBucketing = lengthBucketing;
        BucketWindow = bucketWindow;
        Restore(0, 0);
    }

    public string Task { get; }
    public int BatchSize { get; }
    public bool LengthBucketing { get; }
    public int BucketWindow { get; }
    public int Epoch { get; private set; }
    /// <summary>Batches already taken in the current epoch.</summary>
    public int Position { get; private set; }
    public int BatchesPerEpoch => (examples.Count + BatchSize - 1) / BatchSize;
    public int Count => examples.Count;

    /// <summary>Continues from a saved (<paramref name="epoch"/>, <paramref name="position"/>).</summary>
    public void Restore(int epoch, int position)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, $"task '{Task}': expected an epoch of at least 0");
        var batches = Plan(epoch);
        if (position < 0 || position > batches.Count)
            throw new ArgumentOutOfRangeException(nameof(position), position, $"task '{Task}': expected a position in [0, {batches.Count}] (its batches per epoch)");
        Epoch = epoch;
        epochBatches = batches;
        Position = position;
    }

    /// <summary>The next batch's examples; a new epoch starts when the current one is used up.</summary>
    public IReadOnlyList<EncodedExample> Next()
    {
        if (Position >= epochBatches.Count) Restore(Epoch + 1, 0);
        return epochBatches[Position++].Select(i => examples[i]).ToList();
    }

    List<int[]> Plan(int epoch)
    {
        var rng = new SeededRandom(SeededRandom.Derive(seed, $"stream:{Task}:{epoch}"));
        var order = Splits.Permutation(examples.Count, rng);
        var batches = new List<int[]>();
        if (!LengthBucketing)
        {
            for (int i = 0; i < order.Length; i += BatchSize) batches.Add(order[i..Math.Min(order.Length, i + BatchSize)]);
            return batches;
        }
        int window = BatchSize * Math.Max(1, BucketWindow);
        for (int w = 0; w < order.Length; w += window)
        {
            // Stable sort by length keeps ties in permutation order, so the result is deterministic.
            var chunk = order[w..Math.Min(order.Length, w + window)].OrderBy(i => examples[i].Length).ToArray();
            for (int i = 0; i < chunk.Length; i += BatchSize) batches.Add(chunk[i..Math.Min(chunk.Length, i + BatchSize)]);
        }
        rng.Shuffle(batches);
        return batches;
    }
}

/// <summary>Batches over a fixed evaluation set in order, longest-first within the set so that padding is small.</summary>
public static class EvaluationBatches
{
    public static IEnumerable<IReadOnlyList<EncodedExample>> Of(IReadOnlyList<EncodedExample> examples, int batchSize)
    {
        // Sorting by length only changes the batching, not the metrics, which are order-free.
        var sorted = examples.OrderByDescending(e => e.Length).ThenBy(e => e.Index).ToList();
        for (int i = 0; i < sorted.Count; i += batchSize) yield return sorted.GetRange(i, Math.Min(batchSize, sorted.Count - i));
    }
}
