using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>Predictions keyed by task (only tasks that had a batch), plus the shared representation when asked for.</summary>
public sealed class MultiTaskOutput : IReadOnlyDictionary<string, Tensor>
{
    readonly IReadOnlyDictionary<string, Tensor> predictions;

    public MultiTaskOutput(IReadOnlyDictionary<string, Tensor> predictions, SharedRepresentation? representation)
    {
        this.predictions = predictions;
        Representation = representation;
    }

    /// <summary>Set by <see cref="MultiTaskNetwork.Forward(TrunkInput, bool)"/> with representation gradients on.</summary>
    public SharedRepresentation? Representation { get; }

    public Tensor this[string key] => predictions.TryGetValue(key, out var v)
        ? v
        : throw new KeyNotFoundException($"no prediction for task '{key}' (predictions: {string.Join(", ", predictions.Keys)})");
    public IEnumerable<string> Keys => predictions.Keys;
    public IEnumerable<Tensor> Values => predictions.Values;
    public int Count => predictions.Count;
    public bool ContainsKey(string key) => predictions.ContainsKey(key);
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Tensor value) => predictions.TryGetValue(key, out value);
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => predictions.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
