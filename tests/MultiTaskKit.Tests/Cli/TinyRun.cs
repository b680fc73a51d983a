using System.Globalization;
using System.Text;

namespace MultiTaskKit.Tests.Cli;

/// <summary>Writes two small CSV tasks (a classification and a regression) and a run configuration on a tiny random BERT.</summary>
static class TinyRun
{
    static readonly string[] Pos = ["good", "great", "excellent", "lovely", "fine", "superb"];
    static readonly string[] Neg = ["bad", "awful", "terrible", "poor", "dull", "boring"];

    /// <param name="model">The <c>model</c> section (null: a random BERT of hidden 16, 2 layers).</param>
    /// <param name="sharing">The <c>sharing</c> section (null: split at layer 1).</param>
    /// <param name="method">The <c>method</c> section (null: the default, equal weighting).</param>
    public static string Write(string dir, int steps = 24, int checkpointEvery = 4, string extraTraining = "",
        string? model = null, string? sharing = null, string? method = null)
    {
        Directory.CreateDirectory(dir);
        var rng = new Random(3);
        var cls = new StringBuilder("review,sentiment\n");
        for (int i = 0; i < 96; i++)
        {
            bool p = rng.Next(2) == 1;
            var words = p ? Pos : Neg;
            cls.Append($"\"the film was {words[rng.Next(6)]}, really {words[rng.Next(6)]}\",{(p ? "pos" : "neg")}\n");
        }
        File.WriteAllText(Path.Combine(dir, "reviews.csv"), cls.ToString());
        var reg = new StringBuilder("tweet\tscore\n");
        for (int i = 0; i < 80; i++)
        {
            double s = rng.NextDouble() * 4 - 2;
            reg.Append($"so {(s > 0 ? Pos : Neg)[rng.Next(6)]} today @friend\t{s.ToString("F3", CultureInfo.InvariantCulture)}\n");
        }
        File.WriteAllText(Path.Combine(dir, "tweets.tsv"), reg.ToString());
        var config = $$"""
        {
          "name": "tiny",
          "seed": 11,
          "model": {{model ?? """{ "trunk": "random", "hidden": 16, "layers": 2, "heads": 2, "intermediate": 32 }"""}},
          "sharing": {{sharing ?? """{ "plan": "split", "shared_layers": 1 }"""}},{{(method is null ? "" : $"\n  \"method\": {method},")}}
          "optimizer": { "name": "adamw", "lr": 0.002 },
          "training": { "steps": {{steps}}, "eval_every_steps": 8, "checkpoint_every_steps": {{checkpointEvery}}{{extraTraining}} },
          "tasks": [
            { "name": "sentiment", "dataset": "csv", "kind": "classification", "train": "reviews.csv", "text_column": "review", "label_column": "sentiment", "batch_size": 8, "max_tokens": 12 },
            { "name": "score", "dataset": "csv", "kind": "regression", "train": "tweets.tsv", "text_column": "tweet", "label_column": "score", "normalizer": "tweet", "batch_size": 8, "max_tokens": 12 }
          ]
        }
        """;
        var path = Path.Combine(dir, "run.json");
        File.WriteAllText(path, config);
        return path;
    }
}
