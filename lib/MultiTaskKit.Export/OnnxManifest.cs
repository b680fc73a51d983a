using System.Text.Json;
using System.Text.Json.Serialization;

namespace MultiTaskKit.Export;

/// <summary>How the exported graph's text must be tokenized: the WordPiece vocabulary beside it and its special ids.</summary>
/// <param name="Vocab">The vocabulary's file name, in the folder of the manifest.</param>
/// <param name="Lowercase">Uncased vocabulary: lower-case and strip accents before WordPiece.</param>
public sealed record OnnxTokenizerInfo(string Vocab, bool Lowercase, int ClsId, int SepId, int PadId, int UnkId);

/// <summary>One task of an exported graph.</summary>
/// <param name="Name">The task's name.</param>
/// <param name="Kind"><c>classification</c>, <c>regression</c>, <c>multi_label</c> or <c>token_classification</c>.</param>
/// <param name="Output">The graph output holding its prediction.</param>
/// <param name="OutputKind"><c>probabilities</c> ([batch, classes], softmax), <c>value</c> ([batch]) or
/// <c>label_probabilities</c> ([batch, labels], sigmoid) or <c>token_probabilities</c> ([batch, sequence, tags], softmax
/// over the tags).</param>
/// <param name="Labels">Class, label or tag names in the order of the output's last axis (empty for regression).</param>
/// <param name="MaxTokens">The token budget the task was trained with, [CLS] and [SEP] included.</param>
/// <param name="Truncation"><c>head</c>, <c>tail</c> or <c>head_tail</c> (a quarter of the budget, rounded, from the
/// start: round((max_tokens − 2)·128/510); the rest from the end).</param>
/// <param name="Normalizer"><c>none</c>, <c>imdb</c> (<c>&lt;br /&gt;</c> to spaces, whitespace collapsed) or <c>tweet</c>
/// (HTML entities decoded, mentions to <c>@user</c>, links to <c>http</c>, whitespace collapsed).</param>
/// <param name="Input">What one example is: <c>text</c> (<c>[CLS] a [SEP]</c>, token type 0), <c>pair</c> (<c>[CLS] a
/// [SEP] b [SEP]</c>, token types 0 up to and with the first [SEP] and 1 after it; both texts normalised; when it is too
/// long the longer text loses its last piece until it fits, the second on a tie; truncation does not apply) or
/// <c>words</c> (the text split at white space, <c>[CLS]</c>, each word's pieces, <c>[SEP]</c>, words that do not fit the
/// budget left out; a word's tag is read at its first piece).</param>
/// <param name="Threshold">Multi-label: the probability at or above which a label applies.</param>
/// <param name="Depth">The trunk layer the task reads (absent: the top), for the record: the graph already branches there.</param>
public sealed record OnnxTaskInfo(string Name, string Kind, string Output, string OutputKind, IReadOnlyList<string> Labels,
    int MaxTokens, string Truncation, string Normalizer, string Input = "text", double? Threshold = null, int? Depth = null);

/// <summary>
/// The small JSON written beside an exported ONNX graph (<c>model.json</c> beside <c>model.onnx</c>): everything a
/// consumer needs besides the graph and the vocabulary: the inputs, the tokenizer's settings, and per task its output,
/// labels, token budget, truncation and text normaliser. A consumer tokenizes each text once per distinct
/// (normaliser, max tokens, truncation) and reads the outputs of the tasks that share it; when all tasks share one, one
/// run of the graph gives every task.
/// </summary>
public sealed record OnnxManifest
{
    public const string CurrentFormat = "mtk-onnx/1";

    public string Format { get; init; } = CurrentFormat;
    public required string Model { get; init; }
    public required string Architecture { get; init; }
    public required int Opset { get; init; }
    public required IReadOnlyList<string> Inputs { get; init; }
    /// <summary>Always float32: bf16-trained runs are exported in float32.</summary>
    public string Precision { get; init; } = "float32";
    /// <summary>The precision the run trained in, from its config.json.</summary>
    public string? TrainedPrecision { get; init; }
    public required OnnxTokenizerInfo Tokenizer { get; init; }
    public required IReadOnlyList<OnnxTaskInfo> Tasks { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The manifest's path for a graph at <paramref name="onnxPath"/>: the same name with <c>.json</c>.</summary>
    public static string PathFor(string onnxPath) => Path.ChangeExtension(onnxPath, ".json");

    /// <summary>Reads a manifest; errors name the file and what was expected.</summary>
    public static OnnxManifest Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: expected the manifest that mtk export writes beside the .onnx file, found no file.", path);
        OnnxManifest? m;
        try { m = JsonSerializer.Deserialize<OnnxManifest>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: expected an mtk export manifest (JSON), found unreadable content ({e.Message}).", e); }
        if (m is null) throw new InvalidDataException($"{path}: expected an mtk export manifest, found null.");
        if (m.Format != CurrentFormat) throw new InvalidDataException($"{path}: 'format' must be '{CurrentFormat}', found '{m.Format}'.");
        if (m.Tasks.Count == 0) throw new InvalidDataException($"{path}: 'tasks' is empty; expected at least one task.");
        return m;
    }
}
