namespace MultiTaskKit.Evaluation;

/// <summary>
/// Token classification scored as <c>conlleval</c> (the CoNLL-2000/2003 shared tasks' script) scores it: a chunk
/// (entity) counts as correct only when its span and type both match; precision = correct / predicted chunks, recall =
/// correct / gold chunks, F1 = 2PR/(P+R) (0 when undefined). Tags <c>B-X</c>/<c>I-X</c> are read in IOB1 and IOB2 alike
/// (an <c>I-</c> after <c>O</c> or after another type opens a chunk); tags without a prefix (POS tags) form no chunks, and
/// <see cref="TokenAccuracy"/> is the share of words whose tag is right.
/// </summary>
public sealed record EntityMetrics(long Count, long Words, double TokenAccuracy, long GoldChunks, long PredictedChunks, long CorrectChunks,
    IReadOnlyDictionary<string, (long Gold, long Predicted, long Correct)> PerType) : IMetricResult
{
    /// <summary>Whether any gold or predicted tag is a chunk tag (so that the entity figures mean something).</summary>
    public bool HasChunks => GoldChunks + PredictedChunks > 0;

    public double Precision => Ratio(CorrectChunks, PredictedChunks);
    public double Recall => Ratio(CorrectChunks, GoldChunks);
    public double F1 => F(Precision, Recall);

    static double Ratio(long a, long b) => b == 0 ? 0 : (double)a / b;
    static double F(double p, double r) => p + r == 0 ? 0 : 2 * p * r / (p + r);

    public IReadOnlyDictionary<string, double> Values
    {
        get
        {
            var v = new Dictionary<string, double> { ["token_accuracy"] = TokenAccuracy };
            if (!HasChunks) return v;
            v["entity_precision"] = Precision;
            v["entity_recall"] = Recall;
            v["entity_f1"] = F1;
            foreach (var (type, c) in PerType.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                v[$"entity_f1/{type}"] = F(Ratio(c.Correct, c.Predicted), Ratio(c.Correct, c.Gold));
            return v;
        }
    }
}

/// <summary>Streaming counts of <see cref="EntityMetrics"/>: one <see cref="Update"/> per sentence.</summary>
public sealed class EntityAccumulator(IReadOnlyList<string> tagNames)
{
    readonly Dictionary<string, (long Gold, long Predicted, long Correct)> perType = new(StringComparer.Ordinal);
    long sentences, words, rightTags, gold, predicted, correct;

    public IReadOnlyList<string> TagNames { get; } = tagNames;

    /// <summary>One sentence's gold and predicted tags, word by word.</summary>
    public void Update(IReadOnlyList<string> goldTags, IReadOnlyList<string> predictedTags)
    {
        if (goldTags.Count != predictedTags.Count)
            throw new ArgumentException($"predictedTags: expected one tag per word ({goldTags.Count}), found {predictedTags.Count}.", nameof(predictedTags));
        sentences++;
        bool inCorrect = false;
        string lastGold = "O", lastPred = "O", lastGoldType = "", lastPredType = "";
        // conlleval's loop, with a boundary 'O' after the sentence that closes open chunks.
        for (int i = 0; i <= goldTags.Count; i++)
        {
            var (g, gType) = i < goldTags.Count ? Split(goldTags[i]) : ("O", "");
            var (p, pType) = i < goldTags.Count ? Split(predictedTags[i]) : ("O", "");
            if (inCorrect)
            {
                bool goldEnds = EndOfChunk(lastGold, g, lastGoldType, gType), predEnds = EndOfChunk(lastPred, p, lastPredType, pType);
                if (goldEnds && predEnds && lastGoldType == lastPredType) { inCorrect = false; correct++; Bump(lastGoldType, 0, 0, 1); }
                else if (goldEnds != predEnds || gType != pType) inCorrect = false;
            }
            bool goldStarts = StartOfChunk(lastGold, g, lastGoldType, gType), predStarts = StartOfChunk(lastPred, p, lastPredType, pType);
            if (goldStarts && predStarts && gType == pType) inCorrect = true;
            if (goldStarts) { gold++; Bump(gType, 1, 0, 0); }
            if (predStarts) { predicted++; Bump(pType, 0, 1, 0); }
            if (i < goldTags.Count)
            {
                words++;
                if (goldTags[i] == predictedTags[i]) rightTags++;
            }
            (lastGold, lastPred, lastGoldType, lastPredType) = (g, p, gType, pType);
        }
    }

    void Bump(string type, long g, long p, long c)
    {
        var x = perType.GetValueOrDefault(type);
        perType[type] = (x.Gold + g, x.Predicted + p, x.Correct + c);
    }

    /// <summary>"B-PER" → ("B", "PER"); a tag without a prefix (a POS tag, "O") is outside any chunk.</summary>
    static (string Prefix, string Type) Split(string tag)
    {
        if (tag.Length > 2 && tag[1] == '-' && tag[0] is 'B' or 'I' or 'E' or 'S') return (tag[..1], tag[2..]);
        return ("O", "");
    }

    // conlleval's startOfChunk and endOfChunk (B, I, E, S and O; the bracket forms are not used here).
    static bool EndOfChunk(string prev, string tag, string prevType, string type) =>
        (prev == "E") || (prev == "S")
        || (prev == "B" && tag is "B" or "S" or "O")
        || (prev == "I" && tag is "B" or "S" or "O")
        || (prev != "O" && prevType != type);

    static bool StartOfChunk(string prev, string tag, string prevType, string type) =>
        tag is "B" or "S"
        || (prev is "E" or "S" && tag is "E" or "I")
        || (prev == "O" && tag is "E" or "I")
        || (tag != "O" && prevType != type);

    public EntityMetrics Compute() => new(sentences, words, words == 0 ? 0 : (double)rightTags / words, gold, predicted, correct,
        new Dictionary<string, (long, long, long)>(perType));
}
