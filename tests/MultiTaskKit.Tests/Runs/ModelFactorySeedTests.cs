using MultiTaskKit.Data;
using MultiTaskKit.Training;
using TorchSharp;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Tests.Runs;

/// <summary>
/// The first run on a machine converts the embedded MiniLM into the cache. That conversion builds a BertModel, whose
/// random initialisation drew from torch's generator after the run's init seed, so the first run's heads started
/// elsewhere than every later run's (the quick case study's step-1 IMDB loss was 0.7204 on a fresh cache, 0.7046
/// after). The factory now converts before seeding.
/// </summary>
[Collection(ProcessStateCollection.Name)]
public sealed class ModelFactorySeedTests
{
    [Fact]
    public void AFreshCacheBuildsTheSameModelAsAWarmOne()
    {
        var cache = Directory.CreateTempSubdirectory("mtk-seedcache-").FullName;
        var saved = Environment.GetEnvironmentVariable("MTK_CACHE_DIR");
        try
        {
            Environment.SetEnvironmentVariable("MTK_CACHE_DIR", cache);
            var config = CaseStudy.Preset("quick") with { Runtime = new MultiTaskKit.Runtime.KitOptions() };
            TaskSignature[] tasks =
            [
                new(CaseStudy.ImdbTask, TaskKind.Classification, ["neg", "pos"]),
                new(CaseStudy.TweetsTask, TaskKind.Regression, []),
            ];
            float[] HeadWeights()
            {
                using var built = ModelFactory.Build(config, tasks);
                return built.Model.Head(CaseStudy.ImdbTask).parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
            }
            Assert.False(File.Exists(Path.Combine(MultiTaskKit.Models.Bert.EmbeddedMiniLm.Folder, "model.safetensors")));
            var fresh = HeadWeights();   // converts first
            Assert.True(File.Exists(Path.Combine(MultiTaskKit.Models.Bert.EmbeddedMiniLm.Folder, "model.safetensors")));
            var warm = HeadWeights();
            Assert.Equal(fresh, warm);
        }
        finally
        {
            Environment.SetEnvironmentVariable("MTK_CACHE_DIR", saved);
            Directory.Delete(cache, recursive: true);
        }
    }
}
