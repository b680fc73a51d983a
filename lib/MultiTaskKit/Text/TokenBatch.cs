using static TorchSharp.torch;

namespace MultiTaskKit.Text;

/// <summary>
/// A tokenized batch in managed memory, padded to its longest row: <see cref="InputIds"/> and
/// <see cref="AttentionMask"/> are row-major [<see cref="BatchSize"/>, <see cref="Length"/>].
/// <see cref="ToTensors"/> makes the native tensors a model reads (<c>MultiTaskKit.Models.TokenBatchExtensions.ToTrunkInput</c>
/// wraps them as a trunk's input: text comes before models, so this folder knows nothing of them).
/// </summary>
public sealed class TokenBatch
{
    TokenBatch(long[] ids, long[] mask, int[] lengths, bool[] truncated, int length)
    {
        InputIds = ids; AttentionMask = mask; Lengths = lengths; Truncated = truncated; Length = length;
    }

    public long[] InputIds { get; }
    public long[] AttentionMask { get; }
    /// <summary>Real tokens per row (with [CLS] and [SEP]).</summary>
    public int[] Lengths { get; }
    /// <summary>Which rows lost tokens to truncation.</summary>
    public bool[] Truncated { get; }
    public int BatchSize => Lengths.Length;
    /// <summary>Padded length: the longest row.</summary>
    public int Length { get; }
    /// <summary>Real (non-padding) tokens in the batch.</summary>
    public long TokenCount => Lengths.Sum(l => (long)l);

    /// <summary>The ids of row <paramref name="row"/> without padding.</summary>
    public ReadOnlySpan<long> Row(int row) => InputIds.AsSpan(row * Length, Lengths[row]);

    /// <summary>Pads rows of ids to the longest with <paramref name="padId"/>.</summary>
    public static TokenBatch Pad(IReadOnlyList<long[]> rows, bool[]? truncated, int padId)
    {
        int length = rows.Max(r => r.Length);
        var ids = PadRows(rows, padId, length);
        var mask = new long[rows.Count * length];
        var lengths = new int[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            mask.AsSpan(i * length, rows[i].Length).Fill(1);
            lengths[i] = rows[i].Length;
        }
        return new TokenBatch(ids, mask, lengths, truncated ?? new bool[rows.Count], length);
    }

    /// <summary>The kit's one padding helper: <paramref name="rows"/> row-major in a [rows, <paramref name="width"/>]
    /// array, each row followed by <paramref name="pad"/> (token ids, token type ids, per-token targets alike).</summary>
    public static long[] PadRows(IReadOnlyList<long[]> rows, long pad, int width)
    {
        var result = new long[rows.Count * width];
        if (pad != 0) Array.Fill(result, pad);
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i].Length > width) throw new ArgumentException($"rows: row {i} has {rows[i].Length} values, more than the width {width}.", nameof(rows));
            rows[i].CopyTo(result, i * width);
        }
        return result;
    }

    /// <summary>(input_ids, attention_mask) as int64 [batch, length] tensors on <paramref name="device"/> (default: <see cref="Runtime.TorchRuntime.DefaultDevice"/>).</summary>
    public (Tensor InputIds, Tensor AttentionMask) ToTensors(Device? device = null)
    {
        device ??= Runtime.TorchRuntime.DefaultDevice;
        var shape = new long[] { BatchSize, Length };
        return (tensor(InputIds, shape, device: device), tensor(AttentionMask, shape, device: device));
    }
}
