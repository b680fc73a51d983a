using MultiTaskKit.Text;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>A tokenized batch as what a text trunk reads. It lives here, not on <see cref="TokenBatch"/>, because
/// models read text and text never reads models (the layout test holds the core's folders to one direction).</summary>
public static class TokenBatchExtensions
{
    /// <summary>The batch as a trunk input on <paramref name="device"/> (default: <see cref="Runtime.TorchRuntime.DefaultDevice"/>).</summary>
    public static TrunkInput ToTrunkInput(this TokenBatch batch, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var (ids, mask) = batch.ToTensors(device);
        return TrunkInput.FromTokens(ids, mask);
    }
}
