using MultiTaskKit.Data;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Tests.Data;

public class SplitsTests
{
    static TextDataset Make(int n, bool classification = true) =>
        new("toy", "train", classification ? TaskKind.Classification : TaskKind.Regression, classification ? ["a", "b"] : [],
            Enumerable.Range(0, n).Select(i => classification ? new TextExample($"{i}", $"t{i}", i % 4 == 0 ? 1 : 0) : new TextExample($"{i}", $"t{i}", Target: i)).ToList(), "mem");

    [Fact]
    public void CarveIsSeededStableDisjointAndStratified()
    {
        var data = Make(1000);
        var (rest, val) = Splits.Carve(data, 0.1, 42, "train", "val");
        var (rest2, val2) = Splits.Carve(data, 0.1, 42, "train", "val");
        var (_, val3) = Splits.Carve(data, 0.1, 43, "train", "val");
        Assert.Equal(val.Examples, val2.Examples);
        Assert.Equal(rest.Examples, rest2.Examples);
        Assert.NotEqual(val.Examples, val3.Examples);
        Assert.Equal(100, val.Count);
        Assert.Equal(900, rest.Count);
        Assert.Empty(val.Examples.Select(e => e.Id).Intersect(rest.Examples.Select(e => e.Id)));
        Assert.Equal(25, val.Examples.Count(e => e.Label == 1)); // 25% positives kept
        Assert.Equal("val", val.Split);
    }

    [Fact]
    public void SubsetKeepsOrderAndSize()
    {
        var data = Make(500, classification: false);
        var sub = Splits.Subset(data, 50, 1);
        Assert.Equal(50, sub.Count);
        Assert.True(sub.Examples.Select(e => e.Target).SequenceEqual(sub.Examples.Select(e => e.Target).Order()));
        Assert.Same(data, Splits.Subset(data, null, 1));
    }

    [Fact]
    public void SeededRandomHasAFixedSequence()
    {
        // SplitMix64 reference values for seed 0 (Vigna's splitmix64.c).
        var r = new SeededRandom(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, r.NextUInt64());
        Assert.Equal(0x6E789E6AA1B965F4UL, r.NextUInt64());
    }

    [Fact]
    public void DatasetCardCountsLabelsAndLengths()
    {
        var data = Make(100);
        var (train, val) = Splits.Carve(data, 0.2, 1, "train", "val");
        var card = DatasetCard.Build("toy", new TaskSplits(train, val, val.With("test", val.Examples)));
        Assert.Equal(3, card.Rows.Count);
        Assert.Equal(80L, card["count"][0]);
        Assert.Equal(0.25, (double)card["share_b"][0]!, 6);
        Assert.Equal(1.0, (double)card["words_p50"][1]!);
        var reg = DatasetCard.Build("r", new TaskSplits(Make(10, classification: false), Make(4, classification: false), Make(4, classification: false)), t => t.Length);
        Assert.Equal(4.5, (double)reg["target_mean"][0]!, 6);
        Assert.Contains("tokens_p90", reg.Columns.Select(c => c.Name));
    }
}
