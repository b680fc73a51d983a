using System.Globalization;

namespace MultiTaskKit.Data;

/// <summary>
/// TweetEval (Barbieri et al., Findings of EMNLP 2020), any task: <c>mapping.txt</c> (<c>id \t name</c>) and, per
/// split, <c>&lt;split&gt;_text.txt</c> with <c>&lt;split&gt;_labels.txt</c>, one tweet and one integer label a line.
/// Texts pass through the tweet normaliser. Splits whose files are absent come back null (see <see cref="ReadSplits"/>).
/// </summary>
public static class TweetEvalReader
{
    public static readonly string[] SplitNames = ["train", "val", "test"];

    /// <summary>The label names from <c>mapping.txt</c>, ordered by id (ids must be 0..n-1).</summary>
    public static IReadOnlyList<string> ReadMapping(string taskDir)
    {
        var path = Path.Combine(taskDir, "mapping.txt");
        if (!File.Exists(path)) throw new FileNotFoundException($"TweetEval: expected '{path}' (id \\t label name per line), found no such file.", path);
        var names = new SortedDictionary<int, string>();
        int lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            var parts = line.Split('\t', 2);
            if (parts.Length != 2 || !int.TryParse(parts[0].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
                throw new InvalidDataException($"{path}, line {lineNo}: expected '<integer id>\\t<label name>', found '{line}'.");
            names[id] = parts[1].Trim();
        }
        if (names.Count == 0) throw new InvalidDataException($"{path}: expected at least one label, found an empty mapping.");
        if (names.Keys.First() != 0 || names.Keys.Last() != names.Count - 1)
            throw new InvalidDataException($"{path}: expected label ids 0..{names.Count - 1}, found {string.Join(", ", names.Keys)}.");
        return names.Values.ToList();
    }

    /// <summary>One split of the task in <paramref name="taskDir"/> (its folder name is the task name).</summary>
    public static TextDataset Read(string taskDir, string split)
    {
        var labels = ReadMapping(taskDir);
        var task = Path.GetFileName(Path.TrimEndingDirectorySeparator(taskDir));
        var textPath = Path.Combine(taskDir, $"{split}_text.txt");
        var labelPath = Path.Combine(taskDir, $"{split}_labels.txt");
        if (!File.Exists(textPath)) throw new FileNotFoundException($"TweetEval {task}: expected '{textPath}', found no such file.", textPath);
        if (!File.Exists(labelPath)) throw new FileNotFoundException($"TweetEval {task}: expected '{labelPath}', found no such file.", labelPath);
        var texts = ReadLines(textPath);
        var labelLines = ReadLines(labelPath);
        if (texts.Count != labelLines.Count)
            throw new InvalidDataException($"TweetEval {task}/{split}: '{textPath}' has {texts.Count} lines but '{labelPath}' has {labelLines.Count}; expected one label per tweet.");
        if (texts.Count == 0) throw new InvalidDataException($"TweetEval {task}/{split}: '{textPath}' is empty; expected at least one tweet.");
        var examples = new List<TextExample>(texts.Count);
        for (int i = 0; i < texts.Count; i++)
        {
            var l = labelLines[i].Trim();
            if (!int.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out var label) || label < 0 || label >= labels.Count)
                throw new InvalidDataException($"{labelPath}, line {i + 1}: expected an integer label in 0..{labels.Count - 1} (mapping.txt), found '{l}'.");
            examples.Add(new TextExample($"{split}/{i + 1}", TextNormalizer.NormalizeTweet(texts[i]), label));
        }
        return new TextDataset($"tweeteval-{task}", split, TaskKind.Classification, labels, examples, taskDir);
    }

    /// <summary>Every split present in <paramref name="taskDir"/>; absent splits are null (TweetEval sentiment here lacks train).</summary>
    public static IReadOnlyDictionary<string, TextDataset?> ReadSplits(string taskDir) =>
        SplitNames.ToDictionary(s => s, s => File.Exists(Path.Combine(taskDir, $"{s}_text.txt")) ? Read(taskDir, s) : null);

    static List<string> ReadLines(string path)
    {
        var lines = File.ReadAllLines(path).Select(l => l.TrimEnd('\r')).ToList();
        // A final newline is a line end, not an empty tweet.
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }
}
