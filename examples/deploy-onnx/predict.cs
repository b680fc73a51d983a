#!/usr/bin/env dotnet
#:package Microsoft.ML.OnnxRuntime@1.31.1
#:package FastBertTokenizer@1.2.6
#:property PublishAot=false
// Serves a model exported by `mtk export --format onnx` with ONNX Runtime and a WordPiece tokenizer package: no
// TorchSharp, no libtorch, no MultiTask Kit. It reads model.onnx, model.json and model.vocab.txt and prints every
// task's prediction for each sentence.
//
//   dotnet run examples/deploy-onnx/predict.cs -- path/to/model.onnx "What a wonderful film" ["another sentence" ...]
//   add --json for one JSON line per sentence
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

var json = args.Contains("--json");
var rest = args.Where(a => a != "--json").ToArray();
if (rest.Length < 2)
{
    Console.Error.WriteLine("usage: dotnet run predict.cs -- MODEL.onnx \"sentence\" [\"sentence\" ...] [--json]");
    return 2;
}
var modelPath = Path.GetFullPath(rest[0]);
var sentences = rest[1..];
var manifest = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(modelPath, ".json")))!.AsObject();
var tokenizerInfo = manifest["tokenizer"]!;
bool lowercase = tokenizerInfo["lowercase"]!.GetValue<bool>();
long padId = tokenizerInfo["pad_id"]!.GetValue<long>();

var tokenizer = new FastBertTokenizer.BertTokenizer();
using (var vocab = File.OpenText(Path.Combine(Path.GetDirectoryName(modelPath)!, tokenizerInfo["vocab"]!.GetValue<string>())))
    tokenizer.LoadVocabulary(vocab, lowercase);
using var session = new InferenceSession(modelPath, new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL });

var tasks = manifest["tasks"]!.AsArray().Select(t => t!.AsObject()).ToList();
var results = sentences.Select(_ => new JsonObject()).ToArray();
// one run of the graph per distinct encoding: tasks that share normaliser, token budget and truncation share the run
foreach (var group in tasks.GroupBy(t => (Normalizer: S(t, "normalizer"), MaxTokens: t["max_tokens"]!.GetValue<int>(), Truncation: S(t, "truncation"))))
{
    var rows = sentences.Select(s => Truncate(Encode(Normalize(group.Key.Normalizer, s)), group.Key.MaxTokens, group.Key.Truncation)).ToList();
    int length = rows.Max(r => r.Length);
    var ids = new long[rows.Count * length];
    var mask = new long[rows.Count * length];
    Array.Fill(ids, padId);
    for (int r = 0; r < rows.Count; r++) { rows[r].CopyTo(ids, r * length); Array.Fill(mask, 1L, r * length, rows[r].Length); }
    var shape = new[] { rows.Count, length };
    var inputs = new List<NamedOnnxValue>
    {
        NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, shape)),
        NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, shape)),
    };
    if (session.InputMetadata.ContainsKey("token_type_ids"))
        inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[ids.Length], shape)));
    using var outputs = session.Run(inputs, group.Select(t => S(t, "output")).ToList());
    foreach (var (task, output) in group.Zip(outputs))
    {
        var values = output.AsTensor<float>().ToArray();
        int width = values.Length / rows.Count;
        var labels = task["labels"]!.AsArray().Select(l => l!.GetValue<string>()).ToArray();
        for (int r = 0; r < rows.Count; r++)
        {
            var row = values[(r * width)..((r + 1) * width)];
            results[r][S(task, "name")] = S(task, "output_kind") switch
            {
                "probabilities" => new JsonObject
                {
                    ["label"] = labels[Array.IndexOf(row, row.Max())],
                    ["probabilities"] = new JsonObject(labels.Select((l, j) => KeyValuePair.Create(l, (JsonNode?)(double)row[j]))),
                },
                "label_probabilities" => new JsonObject
                {
                    ["labels"] = new JsonArray(labels.Where((_, j) => row[j] >= 0.5f).Select(l => (JsonNode?)l).ToArray()),
                    ["probabilities"] = new JsonObject(labels.Select((l, j) => KeyValuePair.Create(l, (JsonNode?)(double)row[j]))),
                },
                _ => new JsonObject { ["value"] = (double)row[0] },
            };
        }
    }
}
for (int i = 0; i < sentences.Length; i++)
{
    if (json) { Console.WriteLine(new JsonObject { ["text"] = sentences[i], ["predictions"] = results[i] }.ToJsonString()); continue; }
    Console.WriteLine(sentences[i]);
    foreach (var (task, p) in results[i])
        Console.WriteLine(p!["value"] is { } v
            ? $"  {task}: {v.GetValue<double>():F3}"
            : $"  {task}: {(p["label"] ?? p["labels"])!.ToJsonString()} ({string.Join(", ", p["probabilities"]!.AsObject().Select(kv => $"{kv.Key} {kv.Value!.GetValue<double>():F3}"))})");
}
return 0;

static string S(JsonObject o, string key) => o[key]!.GetValue<string>();

// [CLS] ids [SEP] of the whole text: text.Length + 2 slots can never truncate (every token takes at least one character).
long[] Encode(string text)
{
    text = DeleteIgnored(text);
    var ids = new long[text.Length + 2];
    var attention = new long[ids.Length];
    int n = tokenizer.Encode(text, ids, attention, padTo: null);
    return ids[..n];
}

// What Hugging Face's BertTokenizer deletes before splitting: control characters and, for uncased vocabularies,
// combining marks (accents), which the tokenizer package would otherwise keep as separators or [UNK].
string DeleteIgnored(string text)
{
    var sb = new StringBuilder(text.Length);
    foreach (var c in text)
    {
        bool control = c < '\u0080' ? c is < ' ' and not ('\t' or '\n' or '\r') or '\u007F' : c <= '\u009F';
        bool mark = lowercase && c >= '\u0080' && char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.NonSpacingMark;
        if (!control && !mark) sb.Append(c);
    }
    return sb.ToString();
}

// Keeps [CLS], [SEP] and max − 2 content tokens: the first (head), the last (tail), or round((max − 2)·128/510) first
// and the rest last (head_tail, Sun et al. 2019's head+tail split).
static long[] Truncate(long[] ids, int max, string truncation)
{
    if (ids.Length <= max) return ids;
    int budget = max - 2, content = ids.Length - 2;
    int head = truncation switch { "head" => budget, "tail" => 0, _ => (int)Math.Round(budget * 128.0 / 510.0) };
    int tail = budget - head;
    return [ids[0], .. ids[1..(1 + head)], .. ids[(1 + content - tail)..(1 + content)], ids[^1]];
}

// The text normalisers the tasks trained with (named in model.json).
static string Normalize(string name, string text) => name switch
{
    "imdb" => Regex.Replace(Regex.Replace(text, @"<br\s*/?>", " ", RegexOptions.IgnoreCase), @"\s+", " ").Trim(),
    "tweet" => Regex.Replace(
        Regex.Replace(Regex.Replace(WebUtility.HtmlDecode(text), @"(?<![\w@])@\w{1,50}", "@user"), @"(?:https?://|www\.)\S+", "http", RegexOptions.IgnoreCase),
        @"\s+", " ").Trim(),
    _ => text,
};
