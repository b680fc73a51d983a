using MultiTaskKit.Models;
using static TorchSharp.torch;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;
using MultiTaskKit.Optim;
using MultiTaskKit.Data;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Training;

/// <summary>
/// Writes an architecture's learned mixing (<see cref="MultiTaskNetwork.LearnedMixing"/>: cross-stitch α, MMoE and PLE
/// gate usage, task attention over layers) into a run's history, so that charts can draw it over training. Rows:
/// kind <c>mixing</c>, task = the reader (a task, or <c>shared</c> for PLE's shared gate), metric
/// <c>{unit}/{source}</c> (e.g. <c>gates/expert 1</c>, <c>stitch.layers.0/from imdb</c>), value = the weight.
/// Cost: one copy of a few T×K numbers to the CPU per call; the trainer calls it every
/// <see cref="TrainingConfig.MixingEvery"/> optimizer steps.
/// </summary>
public static class MixingHistory
{
    /// <summary>The history kind of mixing rows.</summary>
    public const string Kind = "mixing";

    /// <summary>Adds one row per unit, reader and source of <paramref name="model"/>'s current mixing (nothing for
    /// architectures that mix nothing, or for gates that have not run yet).</summary>
    public static void Record(RunHistory history, MultiTaskNetwork model, long step, int epoch)
    {
        using var scope = NewDisposeScope();
        foreach (var (unit, weights) in model.LearnedMixing())
        {
            var w = weights.detach().to_type(ScalarType.Float64).cpu();
            var values = w.data<double>().ToArray();
            int columns = (int)w.shape[^1], rows = values.Length / Math.Max(1, columns);
            var labels = model.MixingLabels(unit);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < columns; c++)
                {
                    double v = values[r * columns + c];
                    if (double.IsNaN(v)) continue;
                    string reader = labels?.Rows[r] ?? (rows == model.Tasks.Count ? model.Tasks[r] : r.ToString());
                    string source = labels?.Columns[c] ?? (columns == model.Tasks.Count ? $"from {model.Tasks[c]}" : c.ToString());
                    history.Add(step, epoch, Kind, reader, $"{unit}/{source}", v);
                }
        }
    }
}
