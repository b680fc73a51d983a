using MultiTaskKit.Runtime;
using MultiTaskKit.Training;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Tests.Runtime;

public class KitOptionsTests
{
    static Func<string, string?> Variables(params (string Name, string Value)[] set) =>
        name => set.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void TheEnvironmentIsReadOnlyWhenAskedAndEveryVariableLands()
    {
        var none = KitOptions.FromEnvironment(Variables());
        Assert.Equal(new KitOptions(), none);
        var all = KitOptions.FromEnvironment(Variables(("MTK_DEVICE", "cpu"), ("MTK_THREADS", "3"), ("MTK_FAST_DROPOUT", "0"),
            ("MTK_FUSED_SOFTMAX_DROPOUT", "0"), ("MTK_FUSED_ADAMW", "0"), ("MTK_MALLOC_TUNING", "0"), ("MTK_PRECISION", "bf16")));
        Assert.Equal(new KitOptions
        {
            Device = "cpu", Threads = 3, MallocTuning = false, Precision = Precision.Bf16,
            Kernels = new KernelOptions { FastDropout = false, FusedSoftmaxDropout = false, FusedAdamW = false },
        }, all);
    }

    [Fact]
    public void BadVariablesNameThemselvesAndWhatTheyHold()
    {
        var threads = Assert.Throws<ArgumentException>(() => KitOptions.FromEnvironment(Variables(("MTK_THREADS", "many"))));
        Assert.Equal($"MTK_THREADS: expected an integer from 1 to {KitOptions.MaxThreads}, found 'many'.", threads.Message);
        var flag = Assert.Throws<ArgumentException>(() => KitOptions.FromEnvironment(Variables(("MTK_FUSED_ADAMW", "off"))));
        Assert.Equal("MTK_FUSED_ADAMW: expected 0 or 1, found 'off'.", flag.Message);
        var precision = Assert.Throws<ArgumentException>(() => KitOptions.FromEnvironment(Variables(("MTK_PRECISION", "half"))));
        Assert.Equal("MTK_PRECISION: expected fp32, bf16 or auto, found 'half'.", precision.Message);
    }

    [Theory]
    [InlineData("fp32", Precision.Fp32)]
    [InlineData("bf16", Precision.Bf16)]
    [InlineData("auto", Precision.Auto)]
    public void RuntimePrecisionReadsAndWritesItsName(string name, Precision expected)
    {
        var config = new RunConfig { Runtime = new KitOptions { Precision = expected } };
        Assert.Contains($"\"precision\": \"{name}\"", config.ToJson());
        var back = System.Text.Json.JsonSerializer.Deserialize<RunConfig>(config.ToJson(), RunConfig.Json)!;
        Assert.Equal(expected, back.Runtime.Precision);
    }

    [Fact]
    public void RunConfigCarriesTheOptionsAndOldConfigsStillLoad()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-kitoptions-").FullName;
        try
        {
            var old = Path.Combine(dir, "old.json");
            File.WriteAllText(old, """{ "name": "old", "tasks": [ { "name": "s", "dataset": "imdb" } ] }""");
            Assert.Equal(new KitOptions(), RunConfig.Load(old).Runtime);

            var config = RunConfig.Load(old) with
            {
                Runtime = new KitOptions { Device = "cpu", Threads = 2, Kernels = new KernelOptions { FusedAdamW = false } },
            };
            var json = config.ToJson();
            Assert.Contains("\"runtime\"", json);
            Assert.Contains("\"fused_adamw\": false", json);
            Assert.Contains("\"precision\": \"fp32\"", json);
            var saved = Path.Combine(dir, "config.json");
            File.WriteAllText(saved, json);
            Assert.Equal(config.Runtime, RunConfig.Load(saved).Runtime);

            File.WriteAllText(saved, json.Replace("\"threads\": 2", "\"threads\": 0"));
            var bad = Assert.Throws<InvalidDataException>(() => RunConfig.Load(saved));
            Assert.Contains("runtime.threads: expected a positive integer, found 0", bad.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
