using System.Globalization;
using MultiTaskKit.Tests.Cli;
using MultiTaskKit.Training;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Tests.Optim;

/// <summary>The schedules after warm-up (hand-computed values) and reduce-on-plateau, alone and through <c>mtk train</c>.</summary>
public class LearningRateScheduleTests
{
    [Fact]
    public void EachShapeWarmsUpThenDecaysToTheFinalFraction()
    {
        // 10 warm-up steps, then 100 steps of decay; at step 60 the decay is half way (t = 0.5)
        var constant = new LearningRateSchedule(10, 110) { Shape = ScheduleShape.Constant };
        var linear = new LearningRateSchedule(10, 110, FinalFraction: 0.1);
        var cosine = new LearningRateSchedule(10, 110) { Shape = ScheduleShape.Cosine };
        var poly = new LearningRateSchedule(10, 110) { Shape = ScheduleShape.Polynomial, Power = 2 };
        foreach (var s in new[] { constant, linear, cosine, poly })
        {
            Assert.Equal(0.1, s.Factor(0), 12);
            Assert.Equal(1.0, s.Factor(10), 12);
        }
        Assert.Equal(1.0, constant.Factor(60), 12);
        Assert.Equal(1.0, constant.Factor(110), 12);
        Assert.Equal(0.55, linear.Factor(60), 12);            // 0.1 + 0.9 × 0.5
        Assert.Equal(0.1, linear.Factor(110), 12);
        Assert.Equal(0.5, cosine.Factor(60), 12);             // (1 + cos(π/2)) / 2
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 0.25)), cosine.Factor(35), 12);
        Assert.Equal(0.0, cosine.Factor(110), 12);
        Assert.Equal(0.25, poly.Factor(60), 12);              // (1 − 0.5)²
        Assert.Equal(0.0, poly.Factor(200), 12);
    }

    [Fact]
    public void ThePlateauReducerCutsTheRateAfterPatienceEvaluationsWithoutImprovement()
    {
        var r = new PlateauReducer(patience: 2, factor: 0.5, minMultiplier: 0.2);
        foreach (var score in new[] { 0.5, 0.6, 0.6, 0.55 }) r.Observe(score);   // two without improvement
        Assert.Equal(0.5, r.Multiplier, 12);
        r.Observe(0.59);
        Assert.Equal(0.5, r.Multiplier, 12);                                   // the count starts again
        r.Observe(0.58);
        Assert.Equal(0.25, r.Multiplier, 12);
        r.Observe(0.7);
        r.Observe(0.1); r.Observe(0.1);
        Assert.Equal(0.2, r.Multiplier, 12);                                   // floored
        Assert.Equal(3, r.Reductions);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PlateauReducer(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PlateauReducer(1, factor: 1));
    }

    [Fact]
    public void MtkTrainFollowsTheCosineScheduleAndReducesOnPlateau()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-schedule").FullName;
        var config = TinyRun.Write(dir, steps: 12, extraTraining: ", \"eval_every_steps\": 2", model: """{ "trunk": "mlp", "hidden": 8, "layers": 1 }""");
        var text = File.ReadAllText(config)
            .Replace("\"eval_every_steps\": 8, ", "")
            .Replace("\"lr\": 0.002 }", "\"lr\": 0.002, \"warmup_fraction\": 0, \"schedule\": \"cosine\", \"plateau_patience\": 1, \"plateau_factor\": 0.5 }");
        File.WriteAllText(config, text);
        var run = Path.Combine(dir, "out");
        var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", run);
        Assert.True(code == 0, output);
        var rows = File.ReadAllLines(Path.Combine(run, "history.csv")).Skip(1).Select(l => l.Split(','))
            .Select(r => (Step: long.Parse(r[0], CultureInfo.InvariantCulture), Kind: r[2], Task: r[3], Metric: r[4], Value: double.Parse(r[5], CultureInfo.InvariantCulture))).ToList();
        var scores = rows.Where(r => r.Metric == "selection_score").ToDictionary(r => r.Step, r => r.Value);
        Assert.Equal(6, scores.Count);
        // the expected rate at each step: cosine over 12 steps, times 0.5 for every evaluation so far that did not beat the best
        double best = double.NegativeInfinity, multiplier = 1;
        foreach (var (step, lr) in rows.Where(r => r.Metric == "lr").Select(r => (r.Step, r.Value)))
        {
            double cosine = 0.5 * (1 + Math.Cos(Math.PI * (step - 1) / 12.0));
            Assert.Equal(0.002 * cosine * multiplier, lr, 12);
            if (scores.TryGetValue(step, out var s)) { if (s > best) best = s; else multiplier *= 0.5; }
        }
    }
}
