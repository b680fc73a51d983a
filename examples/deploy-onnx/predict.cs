#!/usr/bin/env dotnet
#:package Microsoft.ML.OnnxRuntime@1.31.1
#:package FastBertTokenizer@1.2.6
#:property PublishAot=false
// Serves a model exported by `mtk export --format onnx` with ONNX Runtime and a WordPiece tokenizer package: no
// TorchSharp, no libtorch, no MultiTask Kit. It reads model.onnx, model.json and model.vocab.txt and prints every
// task's prediction for each sentence: class and probabilities, labels that apply, a value, or each word's tag.
//
//   dotnet run examples/deploy-onnx/predict.cs -- path/to/model.onnx "What a wonderful film" ["another sentence" ...]
//   add --pair "second text" after a sentence for tasks that read pairs (model.json: "input": "pair"), and --json for
//   one JSON line per sentence
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

var json = args.Contains("--json");
var rest = args.Where(a => a != "--json").ToList();
var sentences = new List<string>();
var pairs = new List<string>();
for (int i = 1; i < rest.Count; i++)
{
    if (rest[i] != "--pair") { sentences.Add(rest[i]); continue; }
    if (i + 1 >= rest.Count || pairs.Count != sentences.Count - 1)
    {
        Console.Error.WriteLine("--pair: expected one second text right after each sentence, found " + (i + 1 >= rest.Count ? "none" : "two in a row"));
        return 2;
    }
    pairs.Add(rest[++i]);
}
if (rest.Count < 2 || sentences.Count == 0)
{
    Console.Error.WriteLine("usage: dotnet run predict.cs -- MODEL.onnx \"sentence\" [--pair \"second\"] [\"sentence\" ...] [--json]");
    return 2;
}
var modelPath = Path.GetFullPath(rest[0]);
var manifest = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(modelPath, ".json")))!.AsObject();
var tokenizerInfo = manifest["tokenizer"]!;
bool lowercase = tokenizerInfo["lowercase"]!.GetValue<bool>();
long padId = tokenizerInfo["pad_id"]!.GetValue<long>(), clsId = tokenizerInfo["cls_id"]!.GetValue<long>(),
    sepId = tokenizerInfo["sep_id"]!.GetValue<long>(), unkId = tokenizerInfo["unk_id"]!.GetValue<long>();
var tasks = manifest["tasks"]!.AsArray().Select(t => t!.AsObject()).ToList();
if (tasks.FirstOrDefault(t => Input(t) == "pair") is { } pairTask && pairs.Count != sentences.Count)
{
    Console.Error.WriteLine($"task '{S(pairTask, "name")}' reads sentence pairs: expected --pair \"second text\" after each of the {sentences.Count} sentences, found {pairs.Count}");
    return 2;
}

var tokenizer = new FastBertTokenizer.BertTokenizer();
using (var vocab = File.OpenText(Path.Combine(Path.GetDirectoryName(modelPath)!, tokenizerInfo["vocab"]!.GetValue<string>())))
    tokenizer.LoadVocabulary(vocab, lowercase);
using var session = new InferenceSession(modelPath, new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL });

var results = sentences.Select(_ => new JsonObject()).ToArray();
// one run of the graph per distinct encoding: tasks that share input, normaliser, token budget and truncation share the run
foreach (var group in tasks.GroupBy(t => (Input: Input(t), Normalizer: S(t, "normalizer"), MaxTokens: t["max_tokens"]!.GetValue<int>(), Truncation: S(t, "truncation"))))
{
    var (input, normalizer, maxTokens, truncation) = group.Key;
    var rows = sentences.Select((s, i) => input switch
    {
        "pair" => EncodePair(Normalize(normalizer, s), Normalize(normalizer, pairs[i]), maxTokens),
        "words" => EncodeWords(Normalize(normalizer, s).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries), maxTokens),
        _ => new Row(Truncate(Encode(Normalize(normalizer, s)), maxTokens, truncation), null, null, null),
    }).ToList();
    int length = rows.Max(r => r.Ids.Length);
    var ids = new long[rows.Count * length];
    var mask = new long[rows.Count * length];
    var types = new long[rows.Count * length];
    Array.Fill(ids, padId);
    for (int r = 0; r < rows.Count; r++)
    {
        rows[r].Ids.CopyTo(ids, r * length);
        Array.Fill(mask, 1L, r * length, rows[r].Ids.Length);
        rows[r].Types?.CopyTo(types, r * length);
    }
    var shape = new[] { rows.Count, length };
    var inputs = new List<NamedOnnxValue>
    {
        NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, shape)),
        NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, shape)),
    };
    if (session.InputMetadata.ContainsKey("token_type_ids"))
        inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(types, shape)));
    using var outputs = session.Run(inputs, group.Select(t => S(t, "output")).ToList());
    foreach (var (task, output) in group.Zip(outputs))
    {
        var values = output.AsTensor<float>().ToArray();
        int width = values.Length / rows.Count;
        var labels = task["labels"]!.AsArray().Select(l => l!.GetValue<string>()).ToArray();
        double threshold = task["threshold"]?.GetValue<double>() ?? 0.5;
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
                    ["labels"] = new JsonArray(labels.Where((_, j) => row[j] >= threshold).Select(l => (JsonNode?)l).ToArray()),
                    ["probabilities"] = new JsonObject(labels.Select((l, j) => KeyValuePair.Create(l, (JsonNode?)(double)row[j]))),
                },
                // each word's tag is read at its first piece; words the token budget cut get "O" (or the first tag)
                "token_probabilities" => new JsonObject
                {
                    ["tags"] = new JsonArray(rows[r].Words!.Select((w, k) => (JsonNode?)new JsonArray((JsonNode?)w, (JsonNode?)(k < rows[r].Starts!.Length
                        ? labels[ArgMax(row.AsSpan(rows[r].Starts![k] * labels.Length, labels.Length))]
                        : labels[Math.Max(0, Array.IndexOf(labels, "O"))]))).ToArray()),
                },
                _ => new JsonObject { ["value"] = (double)row[0] },
            };
        }
    }
}
for (int i = 0; i < sentences.Count; i++)
{
    if (json) { Console.WriteLine(new JsonObject { ["text"] = sentences[i], ["pair"] = pairs.Count > 0 ? pairs[i] : null, ["predictions"] = results[i] }.ToJsonString()); continue; }
    Console.WriteLine(pairs.Count > 0 ? $"{sentences[i]} | {pairs[i]}" : sentences[i]);
    foreach (var (task, p) in results[i])
        Console.WriteLine(p!["value"] is { } v ? $"  {task}: {v.GetValue<double>():F3}"
            : p["tags"] is JsonArray tags ? $"  {task}: {string.Join(" ", tags.Select(t => $"{t![0]}/{t[1]}"))}"
            : $"  {task}: {(p["label"] ?? p["labels"])!.ToJsonString()} ({string.Join(", ", p["probabilities"]!.AsObject().Select(kv => $"{kv.Key} {kv.Value!.GetValue<double>():F3}"))})");
}
return 0;

static string S(JsonObject o, string key) => o[key]!.GetValue<string>();

// text (one text), pair ([CLS] a [SEP] b [SEP]) or words (one tag per word); older manifests have no "input"
static string Input(JsonObject task) => task["input"]?.GetValue<string>() ?? "text";

static int ArgMax(ReadOnlySpan<float> x)
{
    int best = 0;
    for (int j = 1; j < x.Length; j++) if (x[j] > x[best]) best = j;
    return best;
}

// [CLS] a [SEP] b [SEP], token types 0 then 1 from b on; while too long, the longer text loses its last piece (the second
// on a tie): BERT's sentence pairs with Hugging Face's longest_first truncation, as the kit trained them.
Row EncodePair(string first, string second, int max)
{
    var a = Encode(first)[1..^1];
    var b = Encode(second)[1..^1];
    int aLen = a.Length, bLen = b.Length;
    while (aLen + bLen + 3 > max) { if (aLen > bLen) aLen--; else bLen--; }
    long[] ids = [clsId, .. a[..aLen], sepId, .. b[..bLen], sepId];
    var types = new long[ids.Length];
    Array.Fill(types, 1L, aLen + 2, bLen + 1);
    return new Row(ids, types, null, null);
}

// [CLS], each word's pieces ([UNK] for a word with none), [SEP]; a word that does not fit the budget ends the row.
Row EncodeWords(string[] words, int max)
{
    var ids = new List<long> { clsId };
    var starts = new List<int>();
    foreach (var word in words)
    {
        var pieces = Encode(word)[1..^1];
        if (pieces.Length == 0) pieces = [unkId];
        if (ids.Count + pieces.Length + 1 > max) break;
        starts.Add(ids.Count);
        ids.AddRange(pieces);
    }
    ids.Add(sepId);
    return new Row([.. ids], null, [.. starts], words);
}

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

// One encoded example: token ids, token type ids (pairs), and for words where each starts.
record Row(long[] Ids, long[]? Types, int[]? Starts, string[]? Words);
