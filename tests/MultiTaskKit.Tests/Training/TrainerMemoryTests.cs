using MultiTaskKit.Data;
using MultiTaskKit.Runtime;
using MultiTaskKit.Tests.Cli;
using MultiTaskKit.Training;
using TorchSharp;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Tests.Training;

[Collection(ProcessStateCollection.Name)]
public class TrainerMemoryTests
{
    [Fact]
    public void LiveTensorCountStaysFlatOverTrainingSteps()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-mem").FullName;
        var config = RunConfig.Load(TinyRun.Write(dir, steps: 40, checkpointEvery: 10));
        var counts = new Dictionary<long, long>();
        using var trainer = new Trainer(config, Path.Combine(dir, "out"), new DatasetSources { DataDir = dir })
        {
            Progress = new Recorder(p => { if (p.Kind == "train") counts[p.Step] = DisposeScopeManager.Statistics.ThreadTotalLiveCount; }),
        };
        trainer.Run();
        // After warm-up (optimizer state created at the first step), no step may leave tensors behind.
        Assert.True(counts[40] - counts[10] <= 0, $"live tensors grew from {counts[10]} at step 10 to {counts[40]} at step 40");
    }

    sealed class Recorder(Action<TrainingProgress> action) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => action(value);
    }
}

[Collection(ProcessStateCollection.Name)]
public class GradientDiagnosticsCadenceTests
{
    [Fact]
    public void TaskGradientsAreSampledEveryNStepsAndTheSettingIsChecked()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-diag").FullName;
        var config = RunConfig.Load(TinyRun.Write(dir, steps: 12, checkpointEvery: 100, extraTraining: ", \"gradient_diagnostics_every\": 5"));
        Assert.Equal(5, config.Training.GradientDiagnosticsEvery);
        using (var trainer = new Trainer(config, Path.Combine(dir, "out"), new DatasetSources { DataDir = dir })) trainer.Run();
        var history = RunHistory.Load(Path.Combine(dir, "out", Trainer.HistoryFile));
        // Steps 0, 5 and 10 are sampled; the history records them after the step, as 1, 6 and 11.
        var sampled = history.Rows.Where(r => r.Metric == "grad_cosine").Select(r => r.Step).Distinct().Order().ToArray();
        Assert.Equal(new long[] { 1, 6, 11 }, sampled);
        Assert.Equal(12, history.Rows.Where(r => r.Metric == "loss" && r.Kind == "train").Select(r => r.Step).Distinct().Count());

        var bad = Assert.Throws<InvalidDataException>(() => RunConfig.Load(TinyRun.Write(Path.Combine(dir, "bad"), extraTraining: ", \"gradient_diagnostics_every\": 0")));
        Assert.Contains("gradient_diagnostics_every", bad.Message);
    }
}
