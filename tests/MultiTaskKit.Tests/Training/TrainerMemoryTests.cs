using MultiTaskKit.Data;
using MultiTaskKit.Runtime;
using MultiTaskKit.Tests.Cli;
using MultiTaskKit.Training;
using TorchSharp;

namespace MultiTaskKit.Tests.Training;

public class TrainerMemoryTests
{
    [Fact]
    public void LiveTensorCountStaysFlatOverTrainingSteps()
    {
        TorchRuntime.EnsureInitialized();
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
