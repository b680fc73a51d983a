using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Text;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Data;

/// <summary>The task kinds on tiny data: pair encoding, word-piece alignment, entity F1 as conlleval counts it, multi-label thresholds, readers.</summary>
public class TaskKindTests
{
    static readonly Lazy<BertTokenizer> MiniLm = new(() =>
    {
        using var reader = new StreamReader(EmbeddedMiniLm.OpenVocab());
        return BertTokenizer.FromVocab(reader, "embedded MiniLM vocab.txt");
    });

    static long[] Pieces(string text) => MiniLm.Value.Encode(text)[1..^1];

    [Fact]
    public void APairIsClsASepBSepWithSegmentIdsFromTheTokenizer()
    {
        var tok = MiniLm.Value;
        var encoder = new TaskInputEncoder(tok, 64);
        const string a = "A man is playing a guitar.", b = "Someone plays an instrument.";
        var e = encoder.Encode(new TextExample("1", a) { Pair = b }, 0, null);
        long[] expected = [tok.ClsId, .. Pieces(a), tok.SepId, .. Pieces(b), tok.SepId];
        Assert.Equal(expected, e.Ids);
        int firstSegment = Pieces(a).Length + 2;
        Assert.Equal(Enumerable.Repeat(0L, firstSegment).Concat(Enumerable.Repeat(1L, Pieces(b).Length + 1)), e.TypeIds!);
        Assert.Equal(["[CLS]", "a", "man"], tok.Tokens(e.Ids.Take(3)));
    }

    [Fact]
    public void APairTooLongLosesPiecesFromTheLongerTextFirst()
    {
        var tok = MiniLm.Value;
        var a = string.Join(' ', Enumerable.Repeat("apple", 20));  // 20 pieces
        var b = "red pear";                                         // 2 pieces
        var e = new TaskInputEncoder(tok, 12).Encode(new TextExample("1", a) { Pair = b }, 0, null);
        Assert.Equal(12, e.Ids.Length);                              // 7 + 2 + 3 specials
        Assert.Equal(Pieces(b), e.Ids[^3..^1]);
        Assert.Equal(3, e.TypeIds!.Count(t => t == 1));
        // Equal lengths: the second text loses the piece (longest_first on a tie).
        var tie = new TaskInputEncoder(tok, 8).Encode(new TextExample("2", "one two three") { Pair = "four five six" }, 0, null);
        Assert.Equal([tok.ClsId, .. Pieces("one two three"), tok.SepId, .. Pieces("four five"), tok.SepId], tie.Ids);
    }

    [Fact]
    public void EachWordIsLabelledOnItsFirstPieceOnly()
    {
        var tok = MiniLm.Value;
        string[] words = ["Johanson", "lives", "in", "Krzyzewskiville"];
        var e = new TaskInputEncoder(tok, 64).Encode(new TextExample("1", string.Join(' ', words)) { Words = words, Labels = [1, 0, 0, 2] }, 0, new TaskLabel(Indices: [1, 0, 0, 2]));
        Assert.True(Pieces("Krzyzewskiville").Length > 1, "the test needs a word of several pieces");
        int position = 1;
        for (int w = 0; w < words.Length; w++)
        {
            Assert.Equal(position, e.WordStarts![w]);
            Assert.Equal(Pieces(words[w])[0], e.Ids[position]);
            position += Pieces(words[w]).Length;
        }
        Assert.Equal(position + 1, e.Length); // [SEP]
        var kind = TaskKinds.Get("token_classification");
        var sig = new TaskSignature("ner", kind, ["O", "B-PER", "B-LOC"]);
        using var targets = kind.Targets(sig, [e], e.Length + 2, CPU);
        var t = targets.data<long>().ToArray();
        for (int i = 0; i < t.Length; i++)
        {
            int w = Array.IndexOf(e.WordStarts!, i);
            Assert.Equal(w >= 0 ? new long[] { 1, 0, 0, 2 }[w] : TaskKind.IgnoreIndex, t[i]);
        }
    }

    [Fact]
    public void WordsPastTheBudgetAreLeftOutButStillScored()
    {
        string[] words = ["a", "b", "c", "d", "e", "f"];
        var e = new TaskInputEncoder(MiniLm.Value, 5).EncodeWords(words, 0, new TaskLabel(Indices: [1, 0, 0, 0, 0, 1]));
        Assert.Equal(3, e.WordStarts!.Length);
        var acc = new EntityAccumulator(["O", "B-X"]);
        acc.Update(["B-X", "O", "O", "O", "O", "B-X"], ["B-X", "O", "O", "O", "O", "O"]); // the cut word predicted O
        var m = acc.Compute();
        Assert.Equal(6, m.Words);
        Assert.Equal(0.5, m.Recall, 12);
    }

    static EntityMetrics Score(params (string[] Gold, string[] Predicted)[] sentences)
    {
        var acc = new EntityAccumulator([]);
        foreach (var (g, p) in sentences) acc.Update(g, p);
        return acc.Compute();
    }

    [Fact]
    public void EntityF1CountsExactSpansAndTypesAsConllevalDoes()
    {
        // Gold: [Barack Obama]PER visited [New York]LOC . Predicted: [Barack Obama]PER visited [New]LOC [York]LOC .
        var m = Score((["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"], ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "O"]));
        Assert.Equal(2, m.GoldChunks);
        Assert.Equal(3, m.PredictedChunks);
        Assert.Equal(1, m.CorrectChunks);                     // only PER: the LOC span differs
        Assert.Equal(1.0 / 3, m.Precision, 12);
        Assert.Equal(0.5, m.Recall, 12);
        Assert.Equal(0.4, m.F1, 12);                          // 2·(1/3)(1/2)/(1/3+1/2)
        Assert.Equal(5.0 / 6, m.TokenAccuracy, 12);
        // A wrong type is a miss even on the right span.
        var typed = Score((["B-ORG", "I-ORG"], ["B-PER", "I-PER"]));
        Assert.Equal((1, 1, 0), (typed.GoldChunks, typed.PredictedChunks, typed.CorrectChunks));
        Assert.Equal(0, typed.F1);
    }

    [Fact]
    public void Iob1ChunksOpenOnIAndSplitOnB()
    {
        // IOB1: I- opens a chunk; B- only separates two adjacent chunks of one type.
        // Gold: [EU]ORG rejects [German]MISC call ... [Peter Blackburn]PER [Smith]PER
        string[] gold = ["I-ORG", "O", "I-MISC", "O", "I-PER", "I-PER", "B-PER"];
        var same = Score((gold, gold));
        Assert.Equal(4, same.GoldChunks);
        Assert.Equal(1.0, same.F1, 12);
        // The same sentence written in IOB2 scores the same against IOB1: chunks, not tags, are compared.
        string[] iob2 = ["B-ORG", "O", "B-MISC", "O", "B-PER", "I-PER", "B-PER"];
        var mixed = Score((gold, iob2));
        Assert.Equal((4, 4, 4), (mixed.GoldChunks, mixed.PredictedChunks, mixed.CorrectChunks));
        Assert.True(mixed.TokenAccuracy < 1);
        // Predicting one chunk where IOB1 gold has two adjacent PER chunks: gold 2, predicted 1, correct 0.
        var merged = Score((["I-PER", "I-PER", "B-PER"], ["I-PER", "I-PER", "I-PER"]));
        Assert.Equal((2, 1, 0), (merged.GoldChunks, merged.PredictedChunks, merged.CorrectChunks));
    }

    [Fact]
    public void PosTagsFormNoChunksAndScoreByAccuracy()
    {
        var m = Score((["NNP", "VBZ", "JJ", "NN"], ["NNP", "VBZ", "NN", "NN"]));
        Assert.False(m.HasChunks);
        Assert.Equal(0.75, m.TokenAccuracy, 12);
        Assert.Equal(["token_accuracy"], m.Values.Keys);
        Assert.Equal(0.75, TaskKinds.Get("token_classification").MainScore(m), 12);
    }

    [Fact]
    public void MultiLabelDecisionsFollowTheThreshold()
    {
        string[] labels = ["joy", "anger", "fear"];
        var at50 = new MultiLabelAccumulator(labels, 0.5);
        var at30 = new MultiLabelAccumulator(labels, 0.3);
        foreach (var acc in new[] { at50, at30 })
        {
            acc.Update([0.9f, 0.4f, 0.1f], [0, 1]);   // joy right; anger missed at 0.5, found at 0.3
            acc.Update([0.2f, 0.35f, 0.6f], [2]);     // fear right; anger a false positive at 0.3
        }
        var m50 = at50.Compute();
        Assert.Equal(1.0, m50.MicroPrecision, 12);            // TP 2, FP 0
        Assert.Equal(2.0 / 3, m50.MicroRecall, 12);            // FN 1
        Assert.Equal(0.8, m50.MicroF1, 12);
        Assert.Equal(0.5, m50.SubsetAccuracy, 12);
        Assert.Equal(1.0 / 6, m50.HammingLoss, 12);
        Assert.Equal((1.0 + 0 + 1.0) / 3, m50.MacroF1, 12);    // anger: no TP
        var m30 = at30.Compute();
        Assert.Equal(0.75, m30.MicroPrecision, 12);           // TP 3, FP 1
        Assert.Equal(1.0, m30.MicroRecall, 12);
        Assert.Equal(2.0 / 3, m30.Values["f1/anger"], 12);     // P 1/2, R 1
        Assert.Throws<ArgumentOutOfRangeException>(() => new MultiLabelAccumulator(labels, 1.0));
    }

    [Fact]
    public void MultiLabelCellsReadWithTheirDelimiterAndNamesTheBadLine()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-multilabel").FullName;
        try
        {
            var path = Path.Combine(dir, "emotions.tsv");
            File.WriteAllText(path, "text\tlabels\nso happy\tjoy\nangry and scared\tanger|fear\nnothing at all\t-\n");
            var kind = TaskKinds.Get("multi_label");
            var d = CsvTaskReader.Read(path, new CsvTaskOptions { TextColumn = "text", LabelColumn = "labels", Kind = kind, LabelDelimiter = "|" });
            Assert.Equal(["anger", "fear", "joy"], d.LabelNames);
            Assert.Equal([[2], [0, 1], []], d.Examples.Select(e => e.Labels!.ToArray()));
            var sig = new TaskSignature("emo", kind, d.LabelNames);
            var encoded = d.Examples.Select((e, i) => new EncodedExample(i, [1, 2], kind.LabelOf(e))).ToList();
            using var t = kind.Targets(sig, encoded, 2, CPU);
            Assert.Equal(new float[] { 0, 0, 1, 1, 1, 0, 0, 0, 0 }, t.data<float>().ToArray());
            var ex = Assert.Throws<InvalidDataException>(() => CsvTaskReader.Read(path, new CsvTaskOptions
            {
                TextColumn = "text", LabelColumn = "labels", Kind = kind, LabelDelimiter = "|", LabelNames = ["joy", "anger"],
            }));
            Assert.Contains("line 3", ex.Message);
            Assert.Contains("'fear'", ex.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ConllFilesReadSentencesAndTheConfiguredTagColumn()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-conll").FullName;
        try
        {
            var path = Path.Combine(dir, "tiny.conll");
            File.WriteAllText(path, "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n");
            string[] columns = ["token", "pos", "chunk", "ner"];
            var ner = ConllReader.Read(path, new ConllTaskOptions { Columns = columns, TextColumn = "token", LabelColumn = "ner" });
            Assert.Equal(2, ner.Count);
            Assert.Equal(["EU", "rejects"], ner.Examples[0].Words!);
            Assert.Equal(["B-ORG", "B-PER", "I-PER", "O"], ner.LabelNames);
            Assert.Equal([0, 3], ner.Examples[0].Labels!);
            var pos = ConllReader.Read(path, new ConllTaskOptions { Columns = columns, TextColumn = "token", LabelColumn = "pos" });
            Assert.Equal(["NNP", "VBZ"], pos.LabelNames);
            File.AppendAllText(path, "\nbroken line\n");
            var ex = Assert.Throws<InvalidDataException>(() => ConllReader.Read(path, new ConllTaskOptions { Columns = columns, TextColumn = "token", LabelColumn = "ner" }));
            Assert.Contains("line 9", ex.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ASplitLackingATagNumbersTheTagsAsTrainingDoes()
    {
        // CoNLL-2003's eng.testb has no NN|SYM tag, which train and testa have: read on its own, testb would number every
        // tag sorted after it one lower, and its gold POS ids would no longer match the model's outputs.
        var dir = Directory.CreateTempSubdirectory("mtk-tagsets").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "train.conll"), "EU NNP\nrejects VBZ\nit .\n\nPeter NNP\nsmiles VBZ\n");
            File.WriteAllText(Path.Combine(dir, "dev.conll"), "Anna NNP\nsings VBZ\n. .\n");
            File.WriteAllText(Path.Combine(dir, "test.conll"), "John NNP\nwaits VBZ\n");
            File.WriteAllText(Path.Combine(dir, "run.json"), """
                { "name": "tagsets", "tasks": [ { "name": "pos", "dataset": "conll", "kind": "token_classification",
                  "train": "train.conll", "val": "dev.conll", "test": "test.conll", "columns": ["token", "pos"], "text_column": "token", "label_column": "pos" } ] }
                """);
            var task = MultiTaskKit.Runs.RunConfig.Load(Path.Combine(dir, "run.json")).Tasks[0];
            var (train, val, test) = MultiTaskKit.Runs.TaskData.ReadSplits(task, allowMissing: false);
            Assert.Equal([".", "NNP", "VBZ"], train.LabelNames);
            Assert.Equal(train.LabelNames, val!.LabelNames);
            Assert.Equal(train.LabelNames, test!.LabelNames);
            Assert.Equal([1, 2], test.Examples[0].Labels!);
            Assert.Equal([1, 2, 0], val.Examples[0].Labels!);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ASplitColumnAndAHeaderlessFileAreConfigurationNotCode()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-split").FullName;
        try
        {
            var path = Path.Combine(dir, "pairs.txt");
            File.WriteAllText(path, "id\ta\tb\tlabel\tset\r\n1\ta dog runs\ta dog is running\tyes\tTRAIN\r\n2\ta cat\ta car\tno\tTEST\r\n3\tx\ty\tno\tTRAIN");
            var train = CsvTaskReader.Read(path, new CsvTaskOptions { TextColumn = "a", PairColumn = "b", LabelColumn = "label", Separator = '\t', SplitColumn = "set", SplitValue = "TRAIN" }, "train");
            Assert.Equal(["a dog runs", "x"], train.Examples.Select(e => e.Text));
            Assert.Equal("a dog is running", train.Examples[0].Pair);
            var none = Assert.Throws<InvalidDataException>(() => CsvTaskReader.Read(path, new CsvTaskOptions { TextColumn = "a", LabelColumn = "label", Separator = '\t', SplitColumn = "set", SplitValue = "TRIAL" }, "val"));
            Assert.Contains("'TRIAL'", none.Message);
            var csv = Path.Combine(dir, "sts.csv");
            File.WriteAllText(csv, "A plane is taking off.,\"An air plane, taking off.\",5.0\nA man plays.,A man sings.,1.5\n");
            var sts = CsvTaskReader.Read(csv, new CsvTaskOptions { TextColumn = "s1", PairColumn = "s2", LabelColumn = "score", Kind = TaskKind.Regression, Columns = ["s1", "s2", "score"] });
            Assert.Equal([5.0f, 1.5f], sts.Examples.Select(e => e.Target));
            Assert.Equal("An air plane, taking off.", sts.Examples[0].Pair);
        }
        finally { Directory.Delete(dir, true); }
    }
}
