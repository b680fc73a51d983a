using MultiTaskKit.Text;

namespace MultiTaskKit.Data;

/// <summary>
/// The kit's one text → model-input encoder, used by training, shared inputs, evaluation and prediction alike:
/// <list type="bullet">
/// <item>one text: <c>[CLS] a [SEP]</c>, cut to the token budget by the task's truncation;</item>
/// <item>a pair (<see cref="TextExample.Pair"/>): <c>[CLS] a [SEP] b [SEP]</c> with token type ids 0 for
/// <c>[CLS] a [SEP]</c> and 1 for <c>b [SEP]</c> (BERT's segment embeddings, Devlin et al. 2019), the longer text losing
/// its last piece until the pair fits (Hugging Face's <c>longest_first</c>; on a tie the second text loses);</item>
/// <item>pre-split words (<see cref="TextExample.Words"/>, token tasks): <c>[CLS]</c>, each word's pieces, <c>[SEP]</c>,
/// with the position of each word's first piece (<see cref="EncodedExample.WordStarts"/>); words that do not fit the
/// budget are left out (their labels are still scored, as misses).</item>
/// </list>
/// </summary>
public sealed class TaskInputEncoder(BertTokenizer tokenizer, int maxTokens, Truncation truncation = Truncation.Head)
{
    public BertTokenizer Tokenizer { get; } = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
    public int MaxTokens { get; } = maxTokens;
    public Truncation Truncation { get; } = truncation;

    /// <summary>The model input of <paramref name="example"/> as row <paramref name="index"/>, with <paramref name="label"/>.</summary>
    public EncodedExample Encode(TextExample example, int index, TaskLabel? label)
    {
        ArgumentNullException.ThrowIfNull(example);
        if (example.Words is { } words) return EncodeWords(words, index, label);
        if (example.Pair is { } pair) return EncodePair(example.Text, pair, index, label);
        return new EncodedExample(index, Tokenizer.Encode(example.Text, MaxTokens, Truncation), label);
    }

    /// <summary>A pair: ids and token type ids of <c>[CLS] a [SEP] b [SEP]</c>, longest-first truncated to the budget.</summary>
    public EncodedExample EncodePair(string first, string second, int index, TaskLabel? label)
    {
        if (MaxTokens < 5) throw new ArgumentOutOfRangeException(nameof(MaxTokens), MaxTokens, "a pair needs at least 5 tokens ([CLS] a [SEP] b [SEP])");
        var a = Pieces(Tokenizer.Encode(first));
        var b = Pieces(Tokenizer.Encode(second));
        int aLen = a.Length, bLen = b.Length;
        while (aLen + bLen + 3 > MaxTokens)
        {
            if (aLen > bLen) aLen--;
            else bLen--;
        }
        var ids = new long[aLen + bLen + 3];
        var types = new long[ids.Length];
        ids[0] = Tokenizer.ClsId;
        Array.Copy(a, 0, ids, 1, aLen);
        ids[aLen + 1] = Tokenizer.SepId;
        Array.Copy(b, 0, ids, aLen + 2, bLen);
        ids[^1] = Tokenizer.SepId;
        for (int i = aLen + 2; i < ids.Length; i++) types[i] = 1;
        return new EncodedExample(index, ids, label) { TypeIds = types };
    }

    /// <summary>Pre-split words: each word's pieces in turn, and where each word starts.</summary>
    public EncodedExample EncodeWords(IReadOnlyList<string> words, int index, TaskLabel? label)
    {
        var ids = new List<long>(MaxTokens) { Tokenizer.ClsId };
        var starts = new List<int>(words.Count);
        foreach (var word in words)
        {
            var pieces = WordPieces(word);
            if (ids.Count + pieces.Length + 1 > MaxTokens) break;
            starts.Add(ids.Count);
            ids.AddRange(pieces);
        }
        ids.Add(Tokenizer.SepId);
        return new EncodedExample(index, ids.ToArray(), label) { WordStarts = starts.ToArray(), Words = words };
    }

    /// <summary>The word pieces of one word ([UNK] for a word that holds nothing the vocabulary reads).</summary>
    public long[] WordPieces(string word)
    {
        if (string.IsNullOrWhiteSpace(word)) return [Tokenizer.UnkId];
        try
        {
            var pieces = Pieces(Tokenizer.Encode(word));
            return pieces.Length == 0 ? [Tokenizer.UnkId] : pieces;
        }
        catch (ArgumentException) { return [Tokenizer.UnkId]; } // only control characters
    }

    static long[] Pieces(long[] withSpecials) => withSpecials[1..^1];
}
