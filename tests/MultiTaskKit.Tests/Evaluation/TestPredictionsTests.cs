using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;

namespace MultiTaskKit.Tests.Evaluation;

/// <summary>test_predictions.csv for every task kind: what each kind records for a row, and that the file reads back.</summary>
public class TestPredictionsTests
{
    static ExamplePrediction Record(string kind, IReadOnlyList<string> labels, float[] scores, EncodedExample example) =>
        TaskKinds.Get(kind).Record(new TaskSignature("t", TaskKinds.Get(kind), labels), scores, example);

    [Fact]
    public void EveryKindRecordsItsGoldAndPredictionAndTheFileReadsBack()
    {
        var classification = Record("classification", ["a", "b", "c"], [0.1f, 0.2f, 0.7f], new EncodedExample(4, [1], new TaskLabel(Class: 1)));
        Assert.Equal(new ExamplePrediction(4, 1, 2), classification);

        var regression = Record("regression", [], [2.5f], new EncodedExample(0, [1], new TaskLabel(Value: 3.25f)));
        Assert.Equal((0, 3.25, 2.5), (regression.Index, regression.Gold, regression.Predicted));

        // multi-label: gold sorted, predicted = labels at or above the threshold (0.5)
        var multi = Record("multi_label", ["x", "y", "z"], [0.9f, 0.2f, 0.5f], new EncodedExample(2, [1], new TaskLabel(Indices: [2, 1])));
        Assert.True(multi.IsList);
        Assert.Equal([1, 2], multi.GoldIndices!);
        Assert.Equal([0, 2], multi.PredictedIndices!);

        // token classification: arg-max tag at each word's first piece; the third word was cut by the budget -> "O" (index 0)
        float[] tokenScores = [0.1f, 0.9f, /* piece 1 */ 0.8f, 0.2f, /* piece 2 */ 0.3f, 0.7f];
        var words = new EncodedExample(1, [10, 11, 12], new TaskLabel(Indices: [1, 1, 1])) { WordStarts = [0, 2], Words = ["w1", "w2", "w3"] };
        var token = Record("token_classification", ["O", "B-X"], tokenScores, words);
        Assert.Equal([1, 1, 1], token.GoldIndices!);
        Assert.Equal([1, 1, 0], token.PredictedIndices!);

        var dir = Directory.CreateTempSubdirectory("mtk-predictions-").FullName;
        try
        {
            TestPredictions.Write(dir, [
                new("cls", "classification", [classification]),
                new("reg", "regression", [regression]),
                new("tags", "multi_label", [multi, ExamplePrediction.Lists(3, null, [])]),
                new("ner", "token_classification", [token]),
            ]);
            var text = File.ReadAllText(Path.Combine(dir, TestPredictions.File));
            Assert.Contains("tags,multi_label,2,[1 2],[0 2]\n", text);
            Assert.Contains("tags,multi_label,3,[],[]\n", text);
            Assert.Contains("ner,token_classification,1,[1 1 1],[1 1 0]\n", text);
            var back = TestPredictions.Read(dir);
            Assert.True(back["cls"].IsScalar && back["reg"].IsScalar);
            Assert.False(back["tags"].IsScalar || back["ner"].IsScalar);
            Assert.Equal(2.0, back["cls"].Rows[0].Predicted);
            Assert.Equal(3.25, back["reg"].Rows[0].Gold);
            Assert.Equal([0, 2], back["tags"].Rows[0].PredictedIndices!);
            Assert.Equal([1, 1, 0], back["ner"].Rows[0].PredictedIndices!);

            // a task mixing numbers and lists is refused, naming the file and line
            File.AppendAllText(Path.Combine(dir, TestPredictions.File), "cls,classification,5,[1],[1]\n");
            var e = Assert.Throws<InvalidDataException>(() => TestPredictions.Read(dir));
            Assert.Contains($"{TestPredictions.File}:7:", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
