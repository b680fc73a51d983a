using System.Globalization;
using System.Text;

namespace MultiTaskKit.Text;

/// <summary>
/// Uncased WordPiece tokenization that gives the same ids as Hugging Face's <c>BertTokenizer</c> (do_lower_case,
/// strip_accents, tokenize_chinese_chars, punctuation split, [UNK], max_input_chars_per_word = 100). It wraps
/// FastBertTokenizer 1.2.6, chosen over Microsoft.ML.Tokenizers 2.0.1 because it agrees with Hugging Face where the
/// other does not (symbols such as <c>$ + &lt; = &gt; | ~</c> and emoji are kept as tokens or [UNK]; Microsoft.ML.Tokenizers
/// drops them) and is faster (<c>mtk bench</c> measures it). FastBertTokenizer splits words over 100 characters into pieces,
/// where Hugging Face gives one [UNK]; this class finds such words first and encodes them as [UNK] itself.
/// Thread-safe.
/// </summary>
public sealed class BertTokenizer
{
    /// <summary>Hugging Face's <c>max_input_chars_per_word</c>: longer words become one [UNK].</summary>
    public const int MaxInputCharsPerWord = 100;

    readonly FastBertTokenizer.BertTokenizer inner = new();
    readonly object gate = new();
    readonly string[] vocab;
    long[] buffer = new long[1024], maskBuffer = new long[1024];

    BertTokenizer(string[] vocab, string source, bool lowercase)
    {
        this.vocab = vocab;
        Source = source;
        Lowercase = lowercase;
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Length; i++) ids.TryAdd(vocab[i], i);
        int Need(string token) => ids.TryGetValue(token, out var id) ? id
            : throw new InvalidDataException($"{source}: the vocabulary has no '{token}' token; expected a BERT WordPiece vocab.txt.");
        PadId = Need("[PAD]"); UnkId = Need("[UNK]"); ClsId = Need("[CLS]"); SepId = Need("[SEP]");
        inner.LoadVocabulary(new StringReader(string.Join('\n', vocab)), lowercase);
    }

    /// <summary>Reads a <c>vocab.txt</c> (one token a line, the line number is the id).</summary>
    public static BertTokenizer FromVocabFile(string path, bool lowercase = true)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Tokenizer: expected a WordPiece vocabulary at '{path}', found no file.", path);
        using var reader = File.OpenText(path);
        return FromVocab(reader, path, lowercase);
    }

    /// <summary>Reads a vocabulary from <paramref name="reader"/>; <paramref name="source"/> names it in errors.</summary>
    public static BertTokenizer FromVocab(TextReader reader, string source, bool lowercase = true)
    {
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line.TrimEnd('\r'));
        // vocab.txt files usually end with a newline; a trailing empty line is not a token.
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        if (lines.Count == 0) throw new InvalidDataException($"{source}: the vocabulary is empty.");
        return new BertTokenizer(lines.ToArray(), source, lowercase);
    }

    /// <summary>Where the vocabulary came from.</summary>
    public string Source { get; }
    public bool Lowercase { get; }
    public int VocabSize => vocab.Length;
    public int PadId { get; }
    public int UnkId { get; }
    public int ClsId { get; }
    public int SepId { get; }

    /// <summary>The longest sequence (with [CLS] and [SEP]) the model reads: its position table. Default 512.</summary>
    public int ModelMaxLength
    {
        get => modelMaxLength;
        set => modelMaxLength = value >= 2 ? value : throw new ArgumentOutOfRangeException(nameof(ModelMaxLength), value, "expected at least 2 ([CLS] and [SEP]).");
    }
    int modelMaxLength = 512;

    /// <summary>The token string of an id (WordPiece continuations keep their <c>##</c>).</summary>
    public string IdToToken(long id) =>
        id >= 0 && id < vocab.Length ? vocab[id] : throw new ArgumentOutOfRangeException(nameof(id), id, $"expected an id in [0, {vocab.Length}).");

    /// <summary>The tokens of an id sequence, for display and debugging.</summary>
    public string[] Tokens(IEnumerable<long> ids) => ids.Select(IdToToken).ToArray();

    /// <summary>
    /// All ids of <paramref name="text"/>, [CLS] first and [SEP] last, without truncation.
    /// Throws when the text is null, empty or only whitespace.
    /// </summary>
    public long[] Encode(string text) => EncodeFull(text, "text");

    /// <summary>The ids of <paramref name="text"/> cut to <paramref name="maxLength"/> tokens (with [CLS] and [SEP]).</summary>
    public long[] Encode(string text, int maxLength, Truncation truncation = Truncation.Head)
    {
        CheckMaxLength(maxLength);
        return Truncate(EncodeFull(text, "text"), maxLength, truncation);
    }

    /// <summary>
    /// Encodes a batch with dynamic padding: every row is padded with [PAD] to the longest row in the batch (at most
    /// <paramref name="maxLength"/>), and the attention mask marks real tokens with 1. Longer texts are truncated as
    /// <paramref name="truncation"/> says, and <see cref="TokenBatch.Truncated"/> records which ones were.
    /// </summary>
    public TokenBatch EncodeBatch(IReadOnlyList<string> texts, int? maxLength = null, Truncation truncation = Truncation.Head)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0) throw new ArgumentException("EncodeBatch: expected at least one text, found an empty list.", nameof(texts));
        int max = maxLength ?? ModelMaxLength;
        CheckMaxLength(max);
        var rows = new long[texts.Count][];
        var truncated = new bool[texts.Count];
        for (int i = 0; i < rows.Length; i++)
        {
            var full = EncodeFull(texts[i], $"texts[{i}]");
            truncated[i] = full.Length > max;
            rows[i] = Truncate(full, max, truncation);
        }
        return TokenBatch.Pad(rows, truncated, PadId);
    }

    void CheckMaxLength(int maxLength)
    {
        if (maxLength < 2)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "expected at least 2 tokens ([CLS] and [SEP]).");
        if (maxLength > ModelMaxLength)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength,
                $"the model's position table has {ModelMaxLength} rows (max_position_embeddings), so sequences are cut to at most {ModelMaxLength} tokens.");
    }

    /// <summary>Keeps [CLS], [SEP] and <paramref name="maxLength"/> − 2 content tokens chosen by <paramref name="truncation"/>.</summary>
    public static long[] Truncate(long[] ids, int maxLength, Truncation truncation)
    {
        if (ids.Length <= maxLength) return ids;
        int budget = maxLength - 2, content = ids.Length - 2;
        int head = truncation switch
        {
            Truncation.Head => budget,
            Truncation.Tail => 0,
            // 128 of 510 in Sun et al. (2019); rounding keeps the same share at other lengths.
            Truncation.HeadAndTail => (int)Math.Round(budget * 128.0 / 510.0),
            _ => throw new ArgumentOutOfRangeException(nameof(truncation), truncation, "expected Head, Tail or HeadAndTail"),
        };
        int tail = budget - head;
        var result = new long[maxLength];
        result[0] = ids[0];
        Array.Copy(ids, 1, result, 1, head);
        Array.Copy(ids, 1 + content - tail, result, 1 + head, tail);
        result[^1] = ids[^1];
        return result;
    }

    long[] EncodeFull(string text, string what)
    {
        if (text is null) throw new ArgumentNullException(what, $"{what} is null; expected a string to tokenize.");
        if (string.IsNullOrWhiteSpace(text))
            throw new ArgumentException($"{what} is empty or only whitespace; it would encode to [CLS] [SEP] alone. Drop or fill such rows before tokenizing.", what);
        text = DeleteIgnoredCharacters(text, Lowercase);
        if (text.Length == 0 || string.IsNullOrWhiteSpace(text))
            throw new ArgumentException($"{what} holds only control characters; it would encode to [CLS] [SEP] alone.", what);
        var overlong = FindOverlongWords(text);
        if (overlong.Count == 0) return EncodeInner(text);
        // Rare path: encode the spans between overlong words and put one [UNK] for each such word, as Hugging Face does.
        var ids = new List<long> { ClsId };
        int start = 0;
        foreach (var (s, len) in overlong)
        {
            AppendContent(ids, text[start..s]);
            ids.Add(UnkId);
            start = s + len;
        }
        AppendContent(ids, text[start..]);
        ids.Add(SepId);
        return ids.ToArray();
    }

    /// <summary>
    /// Deletes what Hugging Face deletes but FastBertTokenizer would keep as a separator or a token:
    /// control characters (category Cc other than tab, newline and carriage return; _clean_text deletes them, while
    /// .NET counts U+000B, U+000C and U+0085 as white space, so "Umm\u0085I" would split where Hugging Face gives
    /// "umm ##i"), and, for uncased vocabularies, non-spacing marks (category Mn; _run_strip_accents deletes them,
    /// while FastBertTokenizer turns a mark with no base letter, such as a lone U+FE0F, into [UNK]).
    /// </summary>
    internal static string DeleteIgnoredCharacters(string text, bool stripMarks)
    {
        int i = 0;
        while (i < text.Length && !IsIgnored(text[i], stripMarks)) i++;
        if (i == text.Length) return text;
        var sb = new StringBuilder(text.Length);
        sb.Append(text, 0, i);
        for (; i < text.Length; i++)
            if (!IsIgnored(text[i], stripMarks)) sb.Append(text[i]);
        return sb.ToString();
    }

    static bool IsIgnored(char c, bool stripMarks)
    {
        if (c < '\u0080') return c is < ' ' and not ('\t' or '\n' or '\r') or '\u007F';
        if (c <= '\u009F') return true;
        return stripMarks && char.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark;
    }

    void AppendContent(List<long> ids, string span)
    {
        if (string.IsNullOrWhiteSpace(span)) return;
        var inner = EncodeInner(span);
        for (int i = 1; i < inner.Length - 1; i++) ids.Add(inner[i]);
    }

    long[] EncodeInner(string text)
    {
        lock (gate)
        {
            // Every token consumes at least one UTF-16 unit, so Length + 2 slots can never truncate.
            int need = text.Length + 2;
            if (buffer.Length < need)
            {
                buffer = new long[Math.Max(need, buffer.Length * 2)];
                maskBuffer = new long[buffer.Length];
            }
            int n = inner.Encode(text, buffer.AsSpan(0, need), maskBuffer.AsSpan(0, need), padTo: null);
            return buffer.AsSpan(0, n).ToArray();
        }
    }

    /// <summary>
    /// Words (runs between whitespace, punctuation and CJK characters, as Hugging Face's BasicTokenizer splits) whose
    /// lower-cased, accent-stripped form has more than <see cref="MaxInputCharsPerWord"/> code points.
    /// </summary>
    internal static List<(int Start, int Length)> FindOverlongWords(string text)
    {
        var result = new List<(int, int)>();
        if (!MayHoldOverlongWord(text)) return result;
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && IsBoundary(text, i)) i += char.IsSurrogatePair(text, i) ? 2 : 1;
            int start = i;
            while (i < text.Length && !IsBoundary(text, i)) i += char.IsSurrogatePair(text, i) ? 2 : 1;
            // Cheap filter first: NFD can only lengthen a word, and a word of at most 100 UTF-16 units after
            // decomposition is not overlong; only longer runs pay for normalisation.
            if (i - start > MaxInputCharsPerWord / 4 && CodePointsAfterNormalisation(text.AsSpan(start, i - start)) > MaxInputCharsPerWord)
                result.Add((start, i - start));
        }
        return result;
    }

    /// <summary>
    /// A cheap conservative filter: runs between ASCII white space and ASCII punctuation are at least as long as the
    /// real words, and NFD at most triples a word (Hangul syllables become three jamo), so a text without a run over
    /// a quarter of the limit holds no overlong word. Almost all text takes this path.
    /// </summary>
    static bool MayHoldOverlongWord(string text)
    {
        int run = 0;
        foreach (char c in text)
        {
            if (c <= ' ' || (c < '\u0080' && !char.IsAsciiLetterOrDigit(c))) run = 0;
            else if (++run > MaxInputCharsPerWord / 4) return true;
        }
        return false;
    }

    static int CodePointsAfterNormalisation(ReadOnlySpan<char> word)
    {
        var normal = word.ToString().ToLowerInvariant().Normalize(NormalizationForm.FormD);
        int count = 0;
        foreach (var rune in normal.EnumerateRunes())
        {
            var cat = Rune.GetUnicodeCategory(rune);
            if (cat == UnicodeCategory.NonSpacingMark || IsControl(rune)) continue;
            count++;
        }
        return count;
    }

    static bool IsBoundary(string text, int i)
    {
        var rune = Rune.GetRuneAt(text, i);
        return Rune.IsWhiteSpace(rune) || IsPunctuation(rune) || IsCjk(rune.Value);
    }

    // Hugging Face's _is_punctuation: all non-letter/number ASCII, plus Unicode category P*.
    static bool IsPunctuation(Rune r)
    {
        int c = r.Value;
        if (c is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    static bool IsControl(Rune r) =>
        r.Value is not ('\t' or '\n' or '\r') && Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned;

    // The CJK Unified Ideograph blocks Hugging Face's _is_chinese_char lists.
    static bool IsCjk(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
