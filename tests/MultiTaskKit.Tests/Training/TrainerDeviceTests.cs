using MultiTaskKit.Data;
using MultiTaskKit.Runs;
using MultiTaskKit.Runtime;
using MultiTaskKit.Tests.Cli;
using MultiTaskKit.Training;
using TorchSharp;

namespace MultiTaskKit.Tests.Training;

/// <summary>
/// A run's device is its own (<see cref="KitOptions.Device"/> through <see cref="RunConfig.Runtime"/>): a change of the
/// process's default device during the run, or a second trainer started in the same process on another device (two
/// notebook cells), leaves the first run where it was. The other device here is <c>meta</c>, libtorch's device of
/// shapes without data, because a CPU-only machine has no second real one: a batch that went there would fail the CPU
/// model at once. In the process-state collection because the tests train and change the process's default device.
/// </summary>
[Collection(ProcessStateCollection.Name)]
public class TrainerDeviceTests
{
    sealed class Inline(Action<TrainingProgress> action) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => action(value);
    }

    static (RunConfig Config, DatasetSources Sources) Tiny(string name)
    {
        TorchRuntime.EnsureInitialized();
        var dir = Directory.CreateTempSubdirectory(name).FullName;
        var config = RunConfig.Load(TinyRun.Write(dir, steps: 6, checkpointEvery: 100, model: """{ "trunk": "mlp", "hidden": 8, "layers": 1 }"""));
        return (config with { Runtime = config.Runtime with { Device = "cpu" } }, new DatasetSources { DataDir = dir });
    }

    static TrainingResult Train(RunConfig config, DatasetSources sources, string folder, Action<TrainingProgress>? onProgress = null)
    {
        using var trainer = new Trainer(config, Path.Combine(sources.DataDir!, folder), sources) { Progress = onProgress is null ? null : new Inline(onProgress) };
        var result = trainer.Run();
        Assert.All(trainer.Built!.Model.parameters(), p => Assert.Equal(DeviceType.CPU, p.device.type));
        return result;
    }

    static Dictionary<string, double> TestMetrics(TrainingResult result) =>
        result.Test.Tasks.SelectMany(t => t.Metrics.Values.Select(kv => ($"{t.Task}/{kv.Key}", kv.Value))).ToDictionary(x => x.Item1, x => x.Value);

    static void WithDefaultRestored(Action body)
    {
        var before = TorchRuntime.DefaultDevice.ToString();
        try { body(); }
        finally { TorchRuntime.Configure(new KitOptions { Device = before }); }
    }

    [Fact]
    public void ARunKeepsItsDeviceWhenTheProcessDefaultChangesMidRun()
    {
        var (config, sources) = Tiny("mtk-device-default");
        var alone = TestMetrics(Train(config, sources, "alone"));
        WithDefaultRestored(() =>
        {
            int reports = 0;
            // after the first step, another part of the program makes meta the process's default device
            var disturbed = Train(config, sources, "disturbed", _ => { if (reports++ == 0) TorchRuntime.Configure(new KitOptions { Device = "meta" }); });
            Assert.True(reports > 1, $"expected progress after the change, found {reports} report(s)");
            Assert.Equal(DeviceType.META, TorchRuntime.DefaultDevice.type); // the run neither read nor reset it
            Assert.Equal(alone, TestMetrics(disturbed));
        });
    }

    [Fact]
    public void ASecondTrainerOnAnotherDeviceLeavesTheFirstOnItsOwn()
    {
        var (config, sources) = Tiny("mtk-device-two");
        var alone = TestMetrics(Train(config, sources, "alone"));
        WithDefaultRestored(() =>
        {
            var before = TorchRuntime.DefaultDevice.type;
            Exception? second = null;
            DeviceType? secondDevice = null;
            int reports = 0;
            void StartASecondTrainerOnMeta()
            {
                var meta = config with { Runtime = config.Runtime with { Device = "meta" } };
                using var other = new Trainer(meta, Path.Combine(sources.DataDir!, "second"), sources);
                second = Record.Exception(() => other.Run());
                secondDevice = other.Built!.Model.parameters().First().device.type;
            }
            var first = Train(config, sources, "first", _ =>
            {
                // at the first report only, a second trainer, configured on meta, starts while the first is between
                // steps; nothing can be read back from meta, so it fails, but only itself
                if (reports++ == 0) StartASecondTrainerOnMeta();
            });
            Assert.Equal(DeviceType.META, secondDevice);
            Assert.NotNull(second);
            Assert.Equal(before, TorchRuntime.DefaultDevice.type);
            Assert.Equal(alone, TestMetrics(first));
        });
    }
}
