using MultiTaskKit.Data;
using MultiTaskKit.Runtime;
using MultiTaskKit.Training;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Tests.Training;

public class TrainingPartsTests
{
    static List<EncodedExample> Examples(int n) =>
        Enumerable.Range(0, n).Select(i => new EncodedExample(i, Enumerable.Repeat(1L, 2 + i % 7).ToArray(), new TaskLabel(Class: i % 2))).ToList();

    [Fact]
    public void StreamCoversEveryExampleOncePerEpochAndResumesExactly()
    {
        foreach (var bucketing in new[] { false, true })
        {
            var a = new TaskStream("t", Examples(50), 8, 5, bucketing, bucketWindow: 2);
            Assert.Equal(7, a.BatchesPerEpoch);
            var seen = Enumerable.Range(0, 7).SelectMany(_ => a.Next()).Select(e => e.Index).ToList();
            Assert.Equal(Enumerable.Range(0, 50), seen.Order());
            a.Next(); a.Next();
            var b = new TaskStream("t", Examples(50), 8, 5, bucketing, bucketWindow: 2);
            b.Restore(a.Epoch, a.Position);
            for (int i = 0; i < 10; i++)
                Assert.Equal(a.Next().Select(e => e.Index), b.Next().Select(e => e.Index));
        }
    }

    [Fact]
    public void BucketingReducesPadding()
    {
        long Padding(bool bucketing)
        {
            var s = new TaskStream("t", Examples(400), 16, 9, bucketing, bucketWindow: 25);
            return Enumerable.Range(0, 25).Select(_ => s.Next()).Sum(b => (long)b.Max(e => e.Length) * b.Count - b.Sum(e => e.Length));
        }
        Assert.True(Padding(true) < Padding(false) / 2, $"bucketed {Padding(true)} vs plain {Padding(false)}");
    }

    [Fact]
    public void SamplersFollowTheirDefinitions()
    {
        string[] tasks = ["a", "b"];
        int[] sizes = [900, 100];
        Assert.Equal(tasks, new TaskSampler(tasks, sizes, SamplingMode.AllTasks, 1).TasksAt(3));
        var rr = new TaskSampler(tasks, sizes, SamplingMode.RoundRobin, 1);
        Assert.Equal(["a", "b", "a"], Enumerable.Range(0, 3).Select(s => rr.TasksAt(s).Single()));
        var prop = new TaskSampler(tasks, sizes, SamplingMode.Proportional, 1);
        Assert.Equal(0.9, prop.Probabilities[0], 12);
        var temp = new TaskSampler(tasks, sizes, SamplingMode.Temperature, 1, temperature: 2);
        Assert.Equal(30.0 / 40.0, temp.Probabilities[0], 12); // sqrt(900) / (sqrt(900) + sqrt(100))
        int drawnA = Enumerable.Range(0, 4000).Count(s => prop.TasksAt(s)[0] == "a");
        Assert.InRange(drawnA, 3500, 3700);
        // A draw depends on (seed, step) only.
        Assert.Equal(Enumerable.Range(0, 50).Select(s => prop.TasksAt(s)[0]), Enumerable.Range(0, 50).Select(s => new TaskSampler(tasks, sizes, SamplingMode.Proportional, 1).TasksAt(s)[0]));
    }

    [Fact]
    public void WarmupThenLinearDecay()
    {
        var s = new LearningRateSchedule(10, 110);
        Assert.Equal(0.1, s.Factor(0), 12);
        Assert.Equal(1.0, s.Factor(9), 12);
        Assert.Equal(1.0, s.Factor(10), 12);
        Assert.Equal(0.5, s.Factor(60), 12);
        Assert.Equal(0.0, s.Factor(110), 12);
    }

    [Fact]
    public void HistoryRoundTripsAndTruncatesForResume()
    {
        var h = new RunHistory();
        h.Add(1, 0, "train", "a", "loss", 0.5);
        h.Add(2, 0, "train", "a|b", "grad_cosine", -0.25);
        h.Add(3, 1, "eval", "a", "accuracy", 0.75);
        var path = Path.Combine(Directory.CreateTempSubdirectory("mtk-hist").FullName, "history.csv");
        h.Save(path);
        Assert.Equal(h.Rows, RunHistory.Load(path).Rows);
        Assert.Equal(2, RunHistory.Load(path, upToStep: 2).Rows.Count);
        var frame = h.ToDataFrame();
        Assert.Equal(3, frame.Rows.Count);
    }

    [Fact]
    public void BatchesAreDynamicallyPadded()
    {
        var rows = new List<EncodedExample> { new(0, [101, 5, 102], new TaskLabel(Class: 1)), new(1, [101, 102], new TaskLabel(Class: 0)) };
        using var batch = TaskBatch.Build(new TaskSignature("t", TaskKind.Classification, ["a", "b"]), rows, 0, TorchRuntime.DefaultDevice);
        Assert.Equal([2L, 3], batch.Input.InputIds!.shape);
        Assert.Equal([1L, 1, 1, 1, 1, 0], batch.Input.AttentionMask!.data<long>().ToArray());
        Assert.Equal([101L, 5, 102, 101, 102, 0], batch.Input.InputIds!.data<long>().ToArray());
        Assert.Equal(5, batch.Tokens);
    }

    [Fact]
    public void ConfigErrorsNameTheKey()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-cfg").FullName;
        var path = Path.Combine(dir, "run.json");
        File.WriteAllText(path, """{ "tasks": [ { "name": "x", "dataset": "csv", "train": "a.csv", "text_column": "t" } ] }""");
        var ex = Assert.Throws<InvalidDataException>(() => RunConfig.Load(path));
        Assert.Contains("label_column", ex.Message);
        File.WriteAllText(path, """{ "tasks": [ { "name": "x", "dataset": "imdb" } ], "trainig": {} }""");
        ex = Assert.Throws<InvalidDataException>(() => RunConfig.Load(path));
        Assert.Contains("trainig", ex.Message);
        File.WriteAllText(path, """{ "tasks": [ { "name": "x", "dataset": "imdb" } ], "method": { "weighting": "magic" } }""");
        var cfg = RunConfig.Load(path);
        var mex = Assert.Throws<InvalidDataException>(() => MethodFactory.Create(cfg.Method, ["x"]));
        Assert.Contains("magic", mex.Message);
        Assert.Contains("pcgrad", mex.Message);
    }

    [Fact]
    public void CaseStudyPresetsMatchTheArticle()
    {
        var quick = CaseStudy.Preset("quick");
        quick.Validate();
        Assert.Equal(SharingPlanKind.Split, quick.Sharing.Plan);
        Assert.Equal(2, quick.Sharing.SharedLayers);
        Assert.Equal(["imdb", "vader"], quick.Tasks.Select(t => t.Dataset));
        Assert.Equal(128, quick.Tasks[0].MaxTokens);
        Assert.Equal(OptimizerKind.Adamw, quick.Optimizer.Name);
        var single = CaseStudy.SingleTask(quick, "tweets", 250);
        Assert.Equal(SharingPlanKind.Isolated, single.Sharing.Plan);
        Assert.Equal(250, single.Training.Steps);
        Assert.Single(single.Tasks);
        Assert.Throws<ArgumentException>(() => CaseStudy.Preset("medium"));
    }
}
