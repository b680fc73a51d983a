using System.Globalization;
using System.Text;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Data.Synthetic;

/// <summary>
/// Two small text classification tasks whose relation is known by construction, written as CSV files, for checking what
/// a comparison concludes (<c>mtk compare</c>, notebook 09). Each sentence holds one key word among neutral filler words;
/// the key word alone sets the label. The <b>target</b> task (<c>task2</c>) sees few training sentences; the
/// <b>helper</b> task (<c>task1</c>) sees many.
/// <list type="bullet">
/// <item><see cref="Relation.Shared"/>: both tasks label the same key words the same way, and the target task's training
/// sentences use only four of them; its test sentences use all of them. Alone it cannot know the key words it never
/// saw; a shared trunk learns them from the helper task, so sharing truly helps.</item>
/// <item><see cref="Relation.Unrelated"/>: the tasks use disjoint key words, and the target task's training sentences
/// cover all of its own; the helper task teaches nothing the target needs, so sharing truly does nothing (beyond
/// chance).</item>
/// </list>
/// Words are common English words that the MiniLM vocabulary holds as single tokens; the files depend only on the seed.
/// </summary>
public static class KeywordTasks
{
    public enum Relation { Shared, Unrelated }

    static readonly string[] WordsA = ["apple", "river", "chair", "cloud", "tiger", "piano", "lemon", "window", "garden", "rocket", "candle", "pepper",
        "silver", "forest", "bottle", "mirror", "pencil", "island", "castle", "jacket", "violin", "carpet", "engine", "rabbit"];
    static readonly string[] WordsB = ["hammer", "ocean", "turtle", "basket", "ladder", "planet", "wallet", "cotton", "dragon", "helmet", "pillow", "saddle",
        "camera", "falcon", "marble", "needle", "orange", "pocket", "ribbon", "spider", "tunnel", "velvet", "wizard", "anchor"];
    static readonly string[] Fillers = ["the", "a", "of", "and", "with", "near", "under", "over", "my", "this", "that", "some"];

    /// <summary>Writes <c>task1_{train,val,test}.csv</c>, <c>task2_{train,val,test}.csv</c> (columns <c>text,label</c>, labels
    /// <c>yes</c>/<c>no</c>) and <c>run.json</c> (an MLP trunk with hard sharing) into <paramref name="dir"/>; returns run.json's path.</summary>
    /// <param name="steps">Optimizer steps of the configuration.</param>
    public static string Write(string dir, Relation relation, ulong seed = 7, int steps = 120)
    {
        Directory.CreateDirectory(dir);
        var random = new SeededRandom(SeededRandom.Derive(seed, "keyword-tasks"));
        // Key words: the first half of a list says "yes", the second half "no".
        var helperKeys = WordsA;
        var targetKeys = relation == Relation.Shared ? WordsA : WordsB;
        var seen = relation == Relation.Shared ? new[] { WordsA[0], WordsA[1], WordsA[12], WordsA[13] } : targetKeys;
        string Label(string[] keys, string w) => Array.IndexOf(keys, w) < keys.Length / 2 ? "yes" : "no";
        void File(string name, string[] keys, IReadOnlyList<string> pool, int rows)
        {
            var s = new StringBuilder("text,label\n");
            for (int i = 0; i < rows; i++)
            {
                var key = pool[random.NextInt(pool.Count)];
                var words = new List<string> { Fillers[random.NextInt(Fillers.Length)], Fillers[random.NextInt(Fillers.Length)], Fillers[random.NextInt(Fillers.Length)] };
                words.Insert(random.NextInt(words.Count + 1), key);
                s.Append(string.Join(' ', words)).Append(',').Append(Label(keys, key)).Append('\n');
            }
            IO.AtomicFile.WriteAllText(Path.Combine(dir, name), s.ToString());
        }
        File("task1_train.csv", helperKeys, helperKeys, 480);
        File("task1_val.csv", helperKeys, helperKeys, 60);
        File("task1_test.csv", helperKeys, helperKeys, 120);
        File("task2_train.csv", targetKeys, seen, relation == Relation.Shared ? 16 : 240);
        File("task2_val.csv", targetKeys, targetKeys, 60);
        File("task2_test.csv", targetKeys, targetKeys, 200);
        string Task(string name) =>
            $$"""{ "name": "{{name}}", "dataset": "csv", "kind": "classification", "train": "{{name}}_train.csv", "val": "{{name}}_val.csv", "test": "{{name}}_test.csv", "text_column": "text", "label_column": "label", "labels": ["no", "yes"], "batch_size": 16, "max_tokens": 8 }""";
        var config = $$"""
        {
          "name": "keywords-{{(relation == Relation.Shared ? "shared" : "unrelated")}}",
          "seed": {{seed.ToString(CultureInfo.InvariantCulture)}},
          "model": { "trunk": "mlp", "hidden": 16, "layers": 1, "head_dropout": 0.0 },
          "sharing": { "plan": "hard" },
          "optimizer": { "name": "adamw", "lr": 0.01, "weight_decay": 0.0, "warmup_fraction": 0.0 },
          "training": { "steps": {{steps}}, "eval_every_steps": {{Math.Max(1, steps / 3)}}, "checkpoint_every_steps": 0, "gradient_diagnostics": false, "mixing_every": 0 },
          "tasks": [
            {{Task("task1")}},
            {{Task("task2")}}
          ]
        }
        """;
        var path = Path.Combine(dir, "run.json");
        IO.AtomicFile.WriteAllText(path, config);
        return path;
    }
}
